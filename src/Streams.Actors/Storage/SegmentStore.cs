using System.Collections.Concurrent;
using Streams.Actors.Domain;
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
    // Manifests looked up for one read whose segment object is gone before giving up.
    private const int FallbackAttempts = 3;
    private readonly SegmentFiles files;
    private readonly IObjectStore objectStore;
    private readonly long cacheBudgetBytes;
    private readonly OpenSegmentCache openSegments;
    private readonly ConcurrentDictionary<string, Lazy<Task<byte[]>>> downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CacheEntry> evictable = new(StringComparer.Ordinal);
    private readonly Lock cacheLock = new();
    private long evictableBytes;
    private long clock;

    /// <summary>Memory for opened segments when the caller does not say (<c>streams.read-cache-bytes</c>'s default).</summary>
    public const long DefaultOpenSegmentBytes = 256L * 1024 * 1024;

    public SegmentStore(SegmentFiles files, IObjectStore objectStore, long cacheBudgetBytes, long openSegmentBytes = DefaultOpenSegmentBytes)
    {
        this.files = files;
        this.objectStore = objectStore;
        this.cacheBudgetBytes = cacheBudgetBytes;
        openSegments = new OpenSegmentCache(openSegmentBytes);
    }

    /// <summary>Downloads performed so far; tests use it to observe single flight.</summary>
    public long DownloadCount => Interlocked.Read(ref downloadCount);

    private long downloadCount;

    /// <summary>
    /// A reader over the segment: from memory when it was opened recently (its blocks already verified
    /// and decoded); else over the local file, of which each read takes only the blocks it needs; else
    /// over the downloaded file's bytes as <see cref="GetAsync"/> returns them.
    /// </summary>
    /// <exception cref="SegmentCorruptException">The file does not validate.</exception>
    public async Task<SegmentReader> OpenAsync(string streamName, SegmentRow segment, CancellationToken cancellationToken)
    {
        var path = files.PathFor(streamName, segment);
        if (openSegments.TryGet(path, segment) is { } cached)
        {
            Touch(path);
            return cached;
        }

        var name = $"{streamName}#{segment.Index}";
        var reader = TryOpenLocal(path, segment, name);
        Telemetry.StreamsMetrics.SegmentRead(hit: reader is not null);
        reader ??= new SegmentReader(await FetchAsync(streamName, segment, path, cancellationToken), name);
        openSegments.Add(path, segment, reader);
        return reader;
    }

    /// <summary>
    /// The records of <see cref="SegmentReader.ReadFrom"/> on the segment holding
    /// <paramref name="position"/> (see <see cref="OpenCoveringAsync"/>). A reader over a local file
    /// that was removed since it was opened (the disk cache's budget, a compaction's deletion) is
    /// dropped and the segment opened again, which downloads it or finds its replacement.
    /// </summary>
    public async Task<IReadOnlyList<SegmentRecord>> ReadFromAsync(
        string streamName, SegmentRow segment, long position, long maxBytes, CancellationToken cancellationToken)
    {
        var reader = await OpenCoveringAsync(streamName, segment, position, cancellationToken);
        try
        {
            return reader.ReadFrom(position, maxBytes);
        }
        catch (SegmentMissingException) when (reader.ReadsFromFile)
        {
            openSegments.Remove(reader);
            reader = await OpenCoveringAsync(streamName, segment, position, cancellationToken);
            return reader.ReadFrom(position, maxBytes);
        }
    }

    public async Task<byte[]> GetAsync(string streamName, SegmentRow segment, CancellationToken cancellationToken)
    {
        var path = files.PathFor(streamName, segment);
        var local = TryReadLocal(path, segment);
        Telemetry.StreamsMetrics.SegmentRead(hit: local is not null);
        if (local is not null)
        {
            return local;
        }

        return await FetchAsync(streamName, segment, path, cancellationToken);
    }

    /// <summary>One download of the segment shared by every reader that asks meanwhile.</summary>
    private async Task<byte[]> FetchAsync(string streamName, SegmentRow segment, string path, CancellationToken cancellationToken)
    {
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

    /// <summary>
    /// The bytes of a segment holding <paramref name="position"/>: <paramref name="segment"/>'s, or —
    /// when its object is gone because a compaction elsewhere replaced it and the grace has passed
    /// (a node that restored an older manifest) — those of the segment the stream's current manifest
    /// lists for that position. Records never change, so either holds the same bytes for every position.
    /// </summary>
    public async Task<byte[]> GetCoveringAsync(string streamName, SegmentRow segment, long position, CancellationToken cancellationToken)
    {
        var wanted = segment;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await GetAsync(streamName, wanted, cancellationToken);
            }
            catch (SegmentMissingException) when (attempt <= FallbackAttempts)
            {
                // The current manifest's segment can itself be replaced and deleted before it is
                // fetched (a busy writer, a short grace): look again, a bounded number of times.
                wanted = await FindInCurrentManifestAsync(streamName, position, cancellationToken) ?? throw new SegmentMissingException(
                    ObjectStoreKeys.SegmentKey(streamName, wanted.StoredName));
            }
        }
    }

    /// <summary>
    /// As <see cref="OpenAsync"/>, for the segment holding <paramref name="position"/>: falls back to the
    /// segment the current manifest lists there when <paramref name="segment"/>'s object was replaced by
    /// a compaction and deleted (see <see cref="GetCoveringAsync"/>).
    /// </summary>
    public async Task<SegmentReader> OpenCoveringAsync(string streamName, SegmentRow segment, long position, CancellationToken cancellationToken)
    {
        try
        {
            return await OpenAsync(streamName, segment, cancellationToken);
        }
        catch (SegmentMissingException)
        {
            var replacement = await FindInCurrentManifestAsync(streamName, position, cancellationToken);
            if (replacement is null)
            {
                throw;
            }

            return await OpenAsync(streamName, replacement, cancellationToken);
        }
    }

    /// <summary>Forgets and removes the local file of a segment whose object was deleted.</summary>
    public void Forget(string streamName, string storedName)
    {
        var path = files.PathFor(streamName, storedName);
        lock (cacheLock)
        {
            if (evictable.Remove(path, out var entry))
            {
                evictableBytes -= entry.SizeBytes;
            }
        }

        try
        {
            // A reader that already holds the bytes is unaffected.
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // The stream's directory went with its local rows (evicted, handed off, forfeited): the
            // file went with it. Deleting must not fail here, or the object's row would stay and every
            // later deletion round would stop at it.
        }
    }

    private async Task<SegmentRow?> FindInCurrentManifestAsync(string streamName, long position, CancellationToken cancellationToken)
    {
        var bytes = await objectStore.GetAsync(ObjectStoreKeys.ManifestKey(streamName), cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        var manifest = StreamManifest.Parse(bytes);
        if (manifest.Deleted || manifest.Name != streamName)
        {
            return null;
        }

        return SegmentRow.ListedBy(manifest).FirstOrDefault(segment => position >= segment.FirstPosition && position < segment.EndPosition);
    }

    /// <summary>Removes every local file of a stream (eviction of a fully uploaded, idle stream).</summary>
    public void RemoveStreamFiles(string streamName)
    {
        var directory = files.StreamDirectory(streamName);
        openSegments.RemoveUnder(directory);
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

    private SegmentReader? TryOpenLocal(string path, SegmentRow segment, string name)
    {
        try
        {
            // A file of another length is not the file the index describes (e.g. a leftover of a
            // deleted incarnation): fetch it again.
            var reader = SegmentReader.OpenFile(path, segment.ByteSize, name);
            if (reader is not null)
            {
                Touch(path);
            }

            return reader;
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
            ?? throw new SegmentMissingException(key);
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
