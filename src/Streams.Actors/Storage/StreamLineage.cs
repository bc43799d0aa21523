namespace Streams.Actors.Storage;

/// <summary>One stream that serves the positions from <see cref="FromPosition"/> up to the next entry's start.</summary>
public readonly record struct LineageEntry(long StreamId, string Name, long FromPosition)
{
    /// <summary>
    /// The id of an entry this node does not keep (ids are AUTOINCREMENT, so never 0): a cluster
    /// fork's source, read by name through the source's owner.
    /// </summary>
    public const long RemoteStreamId = 0;

    public bool IsRemote => StreamId == RemoteStreamId;

    public static LineageEntry Remote(string name, long fromPosition) => new(RemoteStreamId, name, fromPosition);
}

/// <summary>
/// Which stream's records serve which positions of a stream's offset space. A fork shares its
/// source's offsets: below its fork position it shows the source's records (which may in turn come
/// from the source's own source), at and above it its own. Nothing is copied, so a read of a fork is a
/// read of each owner's range in turn, through the same <see cref="IRecordReader"/>.
///
/// Entries run from the stream itself down to the root, each starting strictly below the previous one;
/// the last starts at 0. A stream that is not a fork has one entry.
/// </summary>
public sealed class StreamLineage
{
    private readonly LineageEntry[] entries;

    private StreamLineage(LineageEntry[] entries) => this.entries = entries;

    public IReadOnlyList<LineageEntry> Entries => entries;

    /// <summary>The stream itself is the first entry.</summary>
    public LineageEntry Self => entries[0];

    public static StreamLineage Root(long streamId, string name) => new([new LineageEntry(streamId, name, 0)]);

    /// <summary>
    /// The lineage of a fork of <paramref name="source"/> at <paramref name="forkPosition"/>: its own
    /// records from the fork position on, then whatever served the source below that position.
    /// </summary>
    public static StreamLineage ForkOf(IEnumerable<LineageEntry> source, long forkStreamId, string forkName, long forkPosition) =>
        FromChain([new LineageEntry(forkStreamId, forkName, forkPosition), .. source]);

    /// <summary>
    /// The lineage of a cluster fork: its own records from the fork position on, and below it one
    /// remote entry, its source, which answers for every lower position through its own lineage
    /// (so a fork of a fork recurses on the nodes that own each level).
    /// </summary>
    public static StreamLineage RemoteFork(long forkStreamId, string forkName, long forkPosition, string sourceName) =>
        FromChain([new LineageEntry(forkStreamId, forkName, forkPosition), LineageEntry.Remote(sourceName, 0)]);

    /// <summary>
    /// Builds a lineage from a chain of streams, self first, each with the position its own records
    /// start at. An ancestor whose own records start at or above the boundary its child inherited up to
    /// serves nothing for this stream and is left out.
    /// </summary>
    public static StreamLineage FromChain(IEnumerable<LineageEntry> chain)
    {
        var kept = new List<LineageEntry>();
        foreach (var entry in chain)
        {
            if (kept.Count == 0 || entry.FromPosition < kept[^1].FromPosition)
            {
                kept.Add(entry);
            }

            if (entry.FromPosition == 0)
            {
                break;
            }
        }

        if (kept.Count == 0 || kept[^1].FromPosition != 0)
        {
            throw new InvalidOperationException("a lineage must reach back to position 0");
        }

        return new StreamLineage([.. kept]);
    }

    /// <summary>The entry serving <paramref name="position"/> and the position where its range ends.</summary>
    public (LineageEntry Entry, long End) Serving(long position)
    {
        var end = long.MaxValue;
        foreach (var entry in entries)
        {
            if (entry.FromPosition <= position)
            {
                return (entry, end);
            }

            end = entry.FromPosition;
        }

        // Unreachable: the last entry starts at 0 and positions are never negative.
        throw new ArgumentOutOfRangeException(nameof(position), position, "positions are never negative");
    }

    /// <summary>
    /// Records in [<paramref name="fromPosition"/>, <paramref name="toPosition"/>) from whichever stream
    /// owns each range, in order, stopping once <paramref name="maxBytes"/> are collected (at least one
    /// record when the range is not empty), exactly as one stream's read would.
    /// </summary>
    public async Task<List<StoredRecord>> ReadAsync(
        IRecordReader reader,
        long fromPosition,
        long toPosition,
        long maxBytes,
        CancellationToken cancellationToken)
    {
        if (entries.Length == 1)
        {
            return await reader.ReadAsync(Self.StreamId, Self.Name, fromPosition, toPosition, maxBytes, cancellationToken);
        }

        var records = new List<StoredRecord>();
        long bytes = 0;
        var position = fromPosition;
        while (position < toPosition && (records.Count == 0 || bytes < maxBytes))
        {
            var (entry, end) = Serving(position);
            var pieceEnd = Math.Min(end, toPosition);
            // The reader always returns at least one record, so a budget already spent is passed as
            // "almost nothing" only while nothing has been collected yet.
            var budget = records.Count == 0 ? maxBytes : Math.Max(1, maxBytes - bytes);
            var piece = await reader.ReadAsync(entry.StreamId, entry.Name, position, pieceEnd, budget, cancellationToken);
            foreach (var record in piece)
            {
                if (records.Count > 0 && bytes + record.Payload.Length > maxBytes)
                {
                    return records;
                }

                records.Add(record);
                bytes += record.Payload.Length;
            }

            if (piece.Count < pieceEnd - position)
            {
                // The owner stopped early: the byte budget is used up.
                return records;
            }

            position = pieceEnd;
        }

        return records;
    }
}
