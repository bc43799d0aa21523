namespace Streams.Actors.Storage;

/// <summary>
/// Reads positions of a fork's source that this node does not keep (cluster mode): the source's
/// owner, wherever it runs, answers from its own lineage. Implemented over the shard region by the
/// actors; this interface keeps the storage code free of them.
/// </summary>
public interface IForkSourceReader
{
    /// <summary>
    /// Records in [<paramref name="fromPosition"/>, <paramref name="toPosition"/>) of
    /// <paramref name="sourceName"/>, with the budget rules of <see cref="IRecordReader"/>: at least one
    /// record when the range is not empty, then while <paramref name="maxBytes"/> allows.
    /// </summary>
    Task<List<StoredRecord>> ReadAsync(string sourceName, long fromPosition, long toPosition, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Where the append covering <paramref name="position"/> ends, as the source recorded it (JSON sub-offsets).</summary>
    Task<long> AppendEndAsync(string sourceName, long position, CancellationToken cancellationToken);
}

/// <summary>
/// The record reader of a stream whose lineage may hold a remote entry: local entries are read as
/// always, the remote one through <paramref name="remote"/>. So <see cref="StreamLineage.ReadAsync"/>
/// stays the one read path whether a fork's source lives on this node or another.
/// </summary>
public sealed class ForkAwareRecordReader(IRecordReader local, IForkSourceReader remote) : IRecordReader
{
    public IForkSourceReader Remote => remote;

    public Task<List<StoredRecord>> ReadAsync(
        long streamId,
        string streamName,
        long fromPosition,
        long toPosition,
        long maxBytes,
        CancellationToken cancellationToken) =>
        streamId == LineageEntry.RemoteStreamId
            ? remote.ReadAsync(streamName, fromPosition, toPosition, maxBytes, cancellationToken)
            : local.ReadAsync(streamId, streamName, fromPosition, toPosition, maxBytes, cancellationToken);
}
