using Streams.Actors.Storage.Segments;

namespace Streams.Actors.Storage;

/// <summary>
/// Reads a stream's committed records for a position range, wherever they are kept. Callers pass
/// the committed end they observed, so a read never returns records that are not yet durable.
/// </summary>
public interface IRecordReader
{
    Task<List<StoredRecord>> ReadAsync(
        long streamId,
        string streamName,
        long fromPosition,
        long toPosition,
        long maxBytes,
        CancellationToken cancellationToken);
}

/// <summary>
/// Merges the tiers at sealed_through: sealed positions come from segment files (local, cached or
/// downloaded), the rest from the WAL. Results are the same whichever tier serves them.
/// </summary>
public sealed class TieredRecordReader(StreamDatabase database, PipelineQueries queries, SegmentStore segments) : IRecordReader
{
    // A WAL read can race with a publish that just moved its rows into a segment; one more lookup
    // then finds the segment.
    private const int Attempts = 3;

    public async Task<List<StoredRecord>> ReadAsync(
        long streamId,
        string streamName,
        long fromPosition,
        long toPosition,
        long maxBytes,
        CancellationToken cancellationToken)
    {
        // One response may span several segments and the WAL, until the byte budget is used.
        var records = new List<StoredRecord>();
        long bytes = 0;
        var position = fromPosition;
        while (position < toPosition && (records.Count == 0 || bytes < maxBytes))
        {
            var chunk = await ReadChunkAsync(streamId, streamName, position, toPosition, maxBytes - bytes, cancellationToken);
            foreach (var record in chunk)
            {
                if (records.Count > 0 && bytes + record.Payload.Length > maxBytes)
                {
                    return records;
                }

                records.Add(record);
                bytes += record.Payload.Length;
            }

            position = fromPosition + records.Count;
        }

        return records;
    }

    /// <summary>Records from one tier: the segment holding the position, else the WAL.</summary>
    private async Task<List<StoredRecord>> ReadChunkAsync(
        long streamId,
        string streamName,
        long fromPosition,
        long toPosition,
        long maxBytes,
        CancellationToken cancellationToken)
    {
        maxBytes = Math.Max(maxBytes, 1);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var segment = queries.FindSegmentCovering(streamId, fromPosition);
            if (segment is not null)
            {
                var records = new List<StoredRecord>();
                foreach (var record in await segments.ReadFromAsync(streamName, segment, fromPosition, maxBytes, cancellationToken))
                {
                    if (record.Position >= toPosition)
                    {
                        break;
                    }

                    // A slice of a decoded block that is never modified: no copy is needed.
                    records.Add(new StoredRecord(record.Position, record.TimestampMs, record.Payload));
                }

                return records;
            }

            var wal = database.ReadWal(streamId, fromPosition, toPosition, maxBytes);
            if (wal.Count > 0 && wal[0].Position == fromPosition)
            {
                var contiguous = 1;
                while (contiguous < wal.Count && wal[contiguous].Position == fromPosition + contiguous)
                {
                    contiguous++;
                }

                return contiguous == wal.Count ? wal : wal.GetRange(0, contiguous);
            }
        }

        throw new InvalidOperationException(
            $"records of stream '{streamName}' from position {fromPosition} are in neither a segment nor the WAL");
    }
}
