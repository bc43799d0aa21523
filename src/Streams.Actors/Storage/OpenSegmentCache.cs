using Streams.Actors.Storage.Segments;

namespace Streams.Actors.Storage;

/// <summary>
/// Segments opened for reading, kept in memory with the blocks already verified and decoded, up to a
/// byte budget (least recently read dropped first). A catch-up reader pages through a segment several
/// times; without this every page read its blocks from the file again and decompressed and
/// checksummed them again. An entry is charged all its blocks decompressed, plus the file's bytes
/// when it holds them (a downloaded segment): the most it can hold.
/// </summary>
public sealed class OpenSegmentCache(long budgetBytes)
{
    private readonly Dictionary<Key, Entry> entries = [];
    private readonly Lock entriesLock = new();
    private long chargedBytes;
    private long clock;

    /// <summary>The reader for this exact segment file (path, incarnation, size and checksum), or null.</summary>
    public SegmentReader? TryGet(string path, SegmentRow segment)
    {
        lock (entriesLock)
        {
            if (!entries.TryGetValue(new Key(path, segment.StreamId, segment.ByteSize, segment.Checksum), out var entry))
            {
                return null;
            }

            entry.LastUse = ++clock;
            return entry.Reader;
        }
    }

    /// <summary>Keeps a reader unless it alone is over the budget; evicts the least recently read past it.</summary>
    public void Add(string path, SegmentRow segment, SegmentReader reader)
    {
        var charge = reader.MaxRetainedBytes;
        if (charge > budgetBytes)
        {
            return;
        }

        lock (entriesLock)
        {
            var key = new Key(path, segment.StreamId, segment.ByteSize, segment.Checksum);
            if (entries.Remove(key, out var replaced))
            {
                chargedBytes -= replaced.Charge;
            }

            entries[key] = new Entry(reader, charge) { LastUse = ++clock };
            chargedBytes += charge;
            if (chargedBytes <= budgetBytes)
            {
                return;
            }

            foreach (var (victimKey, victim) in entries.OrderBy(pair => pair.Value.LastUse).ToList())
            {
                if (chargedBytes <= budgetBytes)
                {
                    break;
                }

                entries.Remove(victimKey);
                chargedBytes -= victim.Charge;
            }
        }
    }

    /// <summary>Drops the entry holding <paramref name="reader"/>, if it is still kept.</summary>
    public void Remove(SegmentReader reader)
    {
        lock (entriesLock)
        {
            foreach (var (key, entry) in entries)
            {
                if (ReferenceEquals(entry.Reader, reader))
                {
                    entries.Remove(key);
                    chargedBytes -= entry.Charge;
                    return;
                }
            }
        }
    }

    /// <summary>Drops every entry under a directory (a stream's files were removed).</summary>
    public void RemoveUnder(string directory)
    {
        lock (entriesLock)
        {
            foreach (var key in entries.Keys.Where(key => key.Path.StartsWith(directory, StringComparison.Ordinal)).ToList())
            {
                chargedBytes -= entries[key].Charge;
                entries.Remove(key);
            }
        }
    }

    private readonly record struct Key(string Path, long StreamId, long ByteSize, string Checksum);

    private sealed class Entry(SegmentReader reader, long charge)
    {
        public SegmentReader Reader { get; } = reader;

        public long Charge { get; } = charge;

        public long LastUse { get; set; }
    }
}
