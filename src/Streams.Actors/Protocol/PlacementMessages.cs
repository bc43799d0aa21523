namespace Streams.Actors.Protocol;

/// <summary>
/// Where a stream lives in a cluster. Only small messages cross nodes: a request's bytes travel
/// over HTTP from the node that received it to the stream's owner, never over remoting.
/// </summary>
public static class PlacementMessages
{
    /// <summary>
    /// Asks the stream's owner, through the shard region (which starts the owner where the shard
    /// lives), for the node that serves it. Answered with <see cref="OwnerLocated"/>, or with a
    /// <see cref="StreamReplies.StreamRejected"/> carrying <see cref="Domain.ErrorCode.StreamMoving"/>
    /// while the stream is being handed to another node.
    /// </summary>
    public sealed record LocateOwner(string StreamName) : IStreamCommand;

    /// <summary><paramref name="HttpBaseUrl"/>: where the owner's node takes HTTP requests.</summary>
    public sealed record OwnerLocated(string StreamName, string NodeName, string HttpBaseUrl);

    /// <summary>
    /// Sharding's hand-off stop message: drain the stream (seal its tail, publish a clean manifest,
    /// drop its local rows) and stop, so the next owner hydrates it from the object store.
    /// </summary>
    public sealed record HandOff
    {
        public static readonly HandOff Instance = new();
    }
}
