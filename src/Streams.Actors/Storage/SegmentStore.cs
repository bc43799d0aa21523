using System.Collections.Concurrent;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage.Segments;

namespace Streams.Actors.Storage;

/// <summary>
/// Whole segment files for reads: the local file if it is here, else one download from the object
/// store shared by every reader that asks meanwhile (single flight), kept afterwards as a cache
/// entry. Uploaded segments count against a byte budget and the least recently read ones are
/// removed past it; segments not yet uploaded are never removed.
/// </summary>
public sealed class SegmentStore
{
    private readonly SegmentFiles files;
    private readonly IObjectStore objectStore;
    private readonly long cacheBudgetBytes;
    private readonly ConcurrentDictionary<string, Lazy<Task<byte[]>>> downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CacheEntry> evictable = new(StringComparer.Ordinal);
    private readonly Lock cacheLock = new();
    private long evictableBytes;
    private long clock;

    public SegmentStore(SegmentFiles files, IObjectStore objectStore, long cacheBudgetBytes)
    {
        this.files = files;
        this.objectStore = objectStore;
        this.cacheBudgetBytes = cacheBudgetBytes;
    }

    /// <summary>Downloads performed so far; tests use it to observe single flight.</summary>
    public long DownloadCount => Interlocked.Read(ref downloadCount);

    private long downloadCount;

    public async Task<byte[]> GetAsync(string streamName, SegmentRow segment, CancellationToken cancellationToken)
    {
        var path = files.PathFor(streamName, segment);
        var local = TryReadLocal(path, segment);
        Telemetry.StreamsMetrics.SegmentRead(hit: local is not null);
        if (local is not null)
        {
            return local;
        }

        var download = downloads.GetOrAdd(path, _ => new Lazy<Task<byte[]>>(() => DownloadAsync(streamName, segment, path)));
        try
        {
            return await download.Value.WaitAsync(cancellationToken);
        }
        finally
        {
            if (download.Value.IsCompleted)
            {
                downloads.TryRemove(new KeyValuePair<string, Lazy<Task<byte[]>>>(path, download));
            }
        }
    }

    /// <summary>An uploaded segment's local file may now be removed when the cache is over budget.</summary>
    public void MarkUploaded(string streamName, string storedName, long sizeBytes)
    {
        Track(files.PathFor(streamName, storedName), sizeBytes);
        EvictOverBudget();
    }

    /// <summary>Removes every local file of a stream (eviction of a fully uploaded, idle stream).</summary>
    public void RemoveStreamFiles(string streamName)
    {
        var directory = files.StreamDirectory(streamName);
        lock (cacheLock)
        {
            foreach (var path in evictable.Keys.Where(p => p.StartsWith(directory, StringComparison.Ordinal)).ToList())
            {
                evictableBytes -= evictable[path].SizeBytes;
                evictable.Remove(path);
            }
        }

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private byte[]? TryReadLocal(string path, SegmentRow segment)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.LongLength != segment.ByteSize)
            {
                // Not the file the index describes (e.g. a leftover of a deleted incarnation): fetch it again.
                return null;
            }

            Touch(path);
            return bytes;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    private async Task<byte[]> DownloadAsync(string streamName, SegmentRow segment, string path)
    {
        Interlocked.Increment(ref downloadCount);
        // The recorded key: a segment sealed since format 2 has a name of its own, an older one its index's.
        var key = ObjectStoreKeys.SegmentKey(streamName, segment.StoredName);
        var bytes = await objectStore.GetAsync(key, CancellationToken.None)
            ?? throw new SegmentCorruptException(key, blockIndex: null, "the segment is missing from the object store");
        if (bytes.LongLength != segment.ByteSize || SegmentChecksum.Compute(bytes) != segment.Checksum)
        {
            throw new SegmentCorruptException(key, blockIndex: null, "the downloaded segment does not match its size or checksum");
        }

        AtomicFile.Write(path, bytes);
        Track(path, bytes.LongLength);
        EvictOverBudget();
        return bytes;
    }

    private void Track(string path, long sizeBytes)
    {
        lock (cacheLock)
        {
            if (evictable.TryGetValue(path, out var existing))
            {
                evictableBytes -= existing.SizeBytes;
            }

            evictable[path] = new CacheEntry(sizeBytes, ++clock);
            evictableBytes += sizeBytes;
        }
    }

    private void Touch(string path)
    {
        lock (cacheLock)
        {
            if (evictable.TryGetValue(path, out var entry))
            {
                evictable[path] = entry with { LastUse = ++clock };
            }
        }
    }

    private void EvictOverBudget()
    {
        List<string> victims = [];
        lock (cacheLock)
        {
            if (evictableBytes <= cacheBudgetBytes)
            {
                return;
            }

            foreach (var (path, entry) in evictable.OrderBy(pair => pair.Value.LastUse))
            {
                if (evictableBytes <= cacheBudgetBytes)
                {
                    break;
                }

                victims.Add(path);
                evictableBytes -= entry.SizeBytes;
            }

            foreach (var victim in victims)
            {
                evictable.Remove(victim);
            }
        }

        foreach (var victim in victims)
        {
            // A reader holding the bytes already is unaffected; the next one downloads again.
            File.Delete(victim);
        }
    }

    private readonly record struct CacheEntry(long SizeBytes, long LastUse);
}
