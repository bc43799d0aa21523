namespace Streams.Actors.Protocol;

/// <summary>Messages about a stream whose ownership another node has taken (manifest fencing).</summary>
public static class FencingMessages
{
    /// <summary>
    /// The uploader found another node's manifest where this node's last one should be, and dropped
    /// the stream's local rows (incarnation <paramref name="StreamId"/> of the data directory whose
    /// writer id is <paramref name="WriterId"/>). Published on the node's event stream; the stream
    /// supervisor (or, in a cluster, the shard region) routes it to the stream's owner, which
    /// restores the new owner's manifest. Stream ids are local, so an owner on another node, which a
    /// shard region may route to, ignores it by the writer id.
    /// </summary>
    public sealed record OwnershipLost(string StreamName, long StreamId, string WriterId) : IStreamCommand;
}
