namespace Streams.Actors.Storage;

/// <summary>
/// Reads a stream's committed records for a position range, wherever they are kept. Callers pass
/// the committed end they observed, so a read never returns records that are not yet durable.
/// </summary>
public interface IRecordReader
{
    List<StoredRecord> Read(long streamId, string streamName, long fromPosition, long toPosition, long maxBytes);
}

/// <summary>Reads records from the local WAL only.</summary>
public sealed class WalRecordReader(StreamDatabase database) : IRecordReader
{
    public List<StoredRecord> Read(long streamId, string streamName, long fromPosition, long toPosition, long maxBytes) =>
        database.ReadWal(streamId, fromPosition, toPosition, maxBytes);
}
