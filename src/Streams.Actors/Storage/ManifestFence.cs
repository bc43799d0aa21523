using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Storage;

/// <summary>
/// Publishes manifests as a compare-and-swap on the version this node last read or wrote
/// (docs/adr/0009-fencing-manifest-writes.md). When the store holds another version, the object is
/// fetched and judged: a manifest this node wrote itself (its publish reached the store but the
/// local commit did not) is adopted and the put repeated; anything else means another node has
/// taken the stream over, and <see cref="ManifestConflictException"/> ends this node's ownership.
/// </summary>
public sealed class ManifestFence(IObjectStore objectStore, StreamDatabase database)
{
    // Each failed attempt either adopts this node's own manifest or gives up with a conflict, so a
    // second failure means the object changed again between our read and our put: another writer.
    private const int MaxAttempts = 3;

    public string WriterId => database.WriterId;

    /// <summary>
    /// Puts <paramref name="manifest"/> if the stream's manifest object is still the one this node
    /// last saw, and returns the new version. <paramref name="isOwn"/> decides whether a manifest
    /// found in the store instead is one this node wrote and may replace.
    /// </summary>
    public async Task<string> PutAsync(StreamManifest manifest, Func<StreamManifest, bool> isOwn, CancellationToken cancellationToken)
    {
        var key = ObjectStoreKeys.ManifestKey(manifest.Name);
        var bytes = manifest.ToJson();
        var expected = database.LoadManifestVersion(manifest.Name)?.Version;
        for (var attempt = 1; ; attempt++)
        {
            if (await objectStore.PutIfVersionAsync(key, bytes, expected, cancellationToken) is { } written)
            {
                return written;
            }

            var current = await objectStore.GetVersionedAsync(key, cancellationToken);
            if (current is null)
            {
                // Nobody takes a stream over by removing its manifest (a delete writes a tombstone):
                // the object was removed from outside. Writing it back is what an owner is for.
                expected = null;
            }
            else
            {
                // A manifest that does not parse proves nothing about who owns the stream: a read cut
                // short or an object damaged from outside. Taking it for a takeover would forfeit
                // acknowledged appends, so it fails like any store error and the publish is retried.
                var found = ParseOrNull(current.Content)
                    ?? throw new ObjectStoreException($"the manifest of stream '{manifest.Name}' in the store does not parse ({current.Content.Length} bytes read); publish retried later");
                if (!string.Equals(found.Name, manifest.Name, StringComparison.Ordinal) || !isOwn(found))
                {
                    throw new ManifestConflictException(manifest.Name, found.Generation, found.Writer);
                }

                expected = current.Version;
            }

            if (attempt == MaxAttempts)
            {
                // Our own manifest, yet it keeps changing under us: not a takeover, so not the end of
                // ownership; the publish fails like any store failure and is retried later.
                throw new ObjectStoreException($"the manifest of stream '{manifest.Name}' changed during each of {MaxAttempts} conditional puts");
            }
        }
    }

    /// <summary>
    /// True when <paramref name="found"/> is a manifest this data directory wrote and its local
    /// index still stands on: same writer, not beyond the generation about to be written, and
    /// listing only segments the index has with the same checksums. A manifest from before fencing
    /// (no writer) is accepted on the same terms when it is at the local generation or the next,
    /// so an upgraded node keeps its streams. <paramref name="localChecksums"/> null skips the segment
    /// check (a tombstone replaces whatever this node published).
    /// </summary>
    public bool IsOwn(StreamManifest found, long generationToWrite, IReadOnlyList<string>? localChecksums)
    {
        var byUs = string.Equals(found.Writer, WriterId, StringComparison.Ordinal);
        var beforeFencing = found.Writer is null && found.Generation >= generationToWrite - 1;
        if ((!byUs && !beforeFencing) || found.Generation > generationToWrite)
        {
            return false;
        }

        // A copy of this disk that fell behind (an old backup) shares the writer id: the segment
        // list tells it apart, since the other copy has published segments this one never sealed.
        if (localChecksums is null)
        {
            return true;
        }

        var listed = found.Deleted ? [] : found.Segments.Checksums;
        return listed.Count <= localChecksums.Count && listed.Select((checksum, index) => checksum == localChecksums[index]).All(same => same);
    }

    /// <summary>
    /// <see cref="IsOwn"/> for a manifest whose segment list this node has compacted since (the merged
    /// checksums differ from the listed ones): written by this data directory, and every object it
    /// lists is one the local index still lists or has queued for deletion after a compaction. A copy
    /// of the disk that fell behind does not know the names the other copy's seals chose.
    /// </summary>
    public bool IsOwnBeforeCompaction(StreamManifest found, long generationToWrite, IReadOnlySet<string> knownObjectNames) =>
        IsOwn(found, generationToWrite, localChecksums: null)
        && !found.Deleted
        && found.Segments.ObjectNames is { } listed
        && listed.All(name => name is not null && knownObjectNames.Contains(name));

    private static StreamManifest? ParseOrNull(byte[] content)
    {
        try
        {
            return StreamManifest.Parse(content);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}

/// <summary>
/// The stream's manifest in the store was written by another node: this node no longer owns the
/// stream and must neither publish it again nor acknowledge appends to it.
/// </summary>
public sealed class ManifestConflictException(string streamName, long? foundGeneration, string? foundWriter)
    : Exception(
        $"the manifest of stream '{streamName}' was replaced by another writer"
        + (foundGeneration is { } generation ? $" (generation {generation}, writer {foundWriter ?? "unknown"})" : "")
        + ": this node no longer owns the stream")
{
    public string StreamName { get; } = streamName;
}
