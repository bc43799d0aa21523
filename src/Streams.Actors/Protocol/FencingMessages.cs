namespace Streams.Actors.Protocol;

/// <summary>Messages about a stream whose ownership another node has taken (manifest fencing).</summary>
public static class FencingMessages
{
    /// <summary>
    /// The uploader found another node's manifest where this node's last one should be, and dropped
    /// the stream's local rows (incarnation <paramref name="StreamId"/>). Published on the event
    /// stream; the stream supervisor routes it to the stream's owner, which restores the new
    /// owner's manifest.
    /// </summary>
    public sealed record OwnershipLost(string StreamName, long StreamId) : IStreamCommand;
}
