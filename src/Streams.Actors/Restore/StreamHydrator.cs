using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;

namespace Streams.Actors.Restore;

/// <summary>How the restore of a node's streams from the object store happens.</summary>
public enum RestoreMode
{
    /// <summary>Serve what the local index has (a create still checks for a remote manifest).</summary>
    None,

    /// <summary>Rebuild the index from every manifest before reporting ready.</summary>
    Eager,

    /// <summary>Serve at once; a stream is hydrated from its manifest on first touch.</summary>
    Lazy,
}

/// <summary>The result of looking for a stream's manifest.</summary>
public sealed record HydrationOutcome(StreamRow? Row, long RemoteGeneration, bool EpochBumped)
{
    public bool Found => Row is not null;
}

/// <summary>
/// Restores one stream from its manifest: one GET (the key is computed from the name), then the
/// stream's rows in one local transaction. A missing manifest or a tombstone means "no such stream".
/// </summary>
public sealed class StreamHydrator(IObjectStore objectStore, WalWriter walWriter, StreamDatabase database, TimeProvider clock)
{
    public Task<HydrationOutcome> HydrateAsync(string streamName, CancellationToken cancellationToken) =>
        HydrateAsync(streamName, forksBelow: [], cancellationToken);

    /// <summary>
    /// In cluster mode (<paramref name="forkSourcesRemote"/>) a fork is restored alone: its source
    /// belongs to whichever node owns it and is read through that owner, so it is never restored
    /// here as a side effect (its rows on this node would go stale the moment it changed elsewhere).
    /// </summary>
    public Task<HydrationOutcome> HydrateAsync(string streamName, bool forkSourcesRemote, CancellationToken cancellationToken) =>
        forkSourcesRemote
            ? HydrateAsync(streamName, forksBelow: null, cancellationToken)
            : HydrateAsync(streamName, forksBelow: [], cancellationToken);

    /// <summary>
    /// Writes the rows of an already fetched manifest (the eager bootstrap's path).
    /// <paramref name="version"/> is the manifest object's version: this node's next publish of the
    /// stream is a compare-and-swap against it.
    /// </summary>
    public Task<HydrationOutcome> RestoreAsync(StreamManifest manifest, string version, CancellationToken cancellationToken) =>
        RestoreAsync(manifest, version, forksBelow: [], cancellationToken);

    /// <summary>
    /// True for a manifest the eager restore writes in a batch (<see cref="RestoreBatchAsync"/>): a
    /// live stream that is not a fork. A fork needs its source's local id first, and a tombstone
    /// writes no rows; both go through <see cref="RestoreAsync(StreamManifest, string, CancellationToken)"/>.
    /// </summary>
    public static bool IsBatchable(StreamManifest manifest) => !manifest.Deleted && manifest.ForkParent is null;

    /// <summary>The rows of a fetched manifest for which <see cref="IsBatchable"/> holds.</summary>
    public StreamToRestore ToRestore(StreamManifest manifest, string version) =>
        new(
            ManifestRestore.ToRows(manifest, clock.GetUtcNow().ToUnixTimeMilliseconds())
                ?? throw new ArgumentException("a tombstone has no rows to restore", nameof(manifest)),
            manifest.UpdatedAtMs,
            version);

    /// <summary>
    /// Writes the rows of many fetched manifests in one transaction. Should it fail, each stream is
    /// written again in an operation of its own (the writer isolates a failing operation), so that
    /// one bad stream fails alone. Yields, per stream, null when its rows are written (or it already
    /// had a local row) and otherwise why not.
    /// </summary>
    public async Task<Exception?[]> RestoreBatchAsync(IReadOnlyList<StreamToRestore> streams)
    {
        var failures = new Exception?[streams.Count];
        try
        {
            await walWriter.Submit(new HydrateStreamsOperation(streams));
            return failures;
        }
        catch (Exception batchFailure) when (streams.Count == 1)
        {
            failures[0] = batchFailure;
            return failures;
        }
        catch (Exception)
        {
            // Fall through: find the faulty stream by writing them one by one.
        }

        var writes = streams
            .Select(stream => walWriter.Submit(new HydrateStreamOperation(stream.Restored, stream.PublishedAtMs, stream.ManifestVersion)))
            .ToList();
        for (var index = 0; index < writes.Count; index++)
        {
            try
            {
                await writes[index];
            }
            catch (Exception streamFailure)
            {
                failures[index] = streamFailure;
            }
        }

        return failures;
    }

    /// <param name="forksBelow">
    /// The forks whose restore led here, each waiting for its source: a name already among them
    /// means the manifests name each other as sources, which only a corrupt store can hold. Null:
    /// fork sources are remote and not restored here.
    /// </param>
    private async Task<HydrationOutcome> HydrateAsync(string streamName, HashSet<string>? forksBelow, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var outcome = await FetchAndRestoreAsync(streamName, forksBelow, cancellationToken);
            Telemetry.StreamsMetrics.Hydrated(outcome.Row is null ? "absent" : "restored", started);
            return outcome;
        }
        catch
        {
            Telemetry.StreamsMetrics.Hydrated("failed", started);
            throw;
        }
    }

    private async Task<HydrationOutcome> FetchAndRestoreAsync(string streamName, HashSet<string>? forksBelow, CancellationToken cancellationToken)
    {
        var read = await objectStore.GetVersionedAsync(ObjectStoreKeys.ManifestKey(streamName), cancellationToken);
        if (read is null)
        {
            // Nothing at the key: this node's first publish under the name must find it still empty.
            await walWriter.Submit(new RecordManifestVersionOperation(streamName, 0, version: null));
            return new HydrationOutcome(null, 0, EpochBumped: false);
        }

        var manifest = StreamManifest.Parse(read.Content);
        if (!string.Equals(manifest.Name, streamName, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"the manifest at {ObjectStoreKeys.ManifestKey(streamName)} names another stream");
        }

        return await RestoreAsync(manifest, read.Version, forksBelow, cancellationToken);
    }

    private async Task<HydrationOutcome> RestoreAsync(StreamManifest manifest, string version, HashSet<string>? forksBelow, CancellationToken cancellationToken)
    {
        long? forkParentId = null;
        if (manifest.ForkParent is { } parentName && !manifest.Deleted && forksBelow is not null)
        {
            if (!forksBelow.Add(manifest.Name) || forksBelow.Contains(parentName))
            {
                throw new InvalidDataException(
                    $"the fork sources of '{manifest.Name}' form a cycle ({string.Join(" -> ", forksBelow)} -> {parentName})");
            }

            // A fork reads its source below the fork position: the source must be local first.
            var parent = database.LoadStream(parentName)
                ?? (await HydrateAsync(parentName, forksBelow, cancellationToken)).Row
                ?? throw new InvalidDataException($"the fork's source '{parentName}' has no manifest");
            forkParentId = parent.StreamId;
        }

        var restored = ManifestRestore.ToRows(manifest, clock.GetUtcNow().ToUnixTimeMilliseconds(), forkParentId);
        if (restored is null)
        {
            // A tombstone: re-creating the name here replaces exactly this object.
            await walWriter.Submit(new RecordManifestVersionOperation(manifest.Name, manifest.Generation, version));
            return new HydrationOutcome(null, manifest.Generation, EpochBumped: false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        await walWriter.Submit(new HydrateStreamOperation(restored, manifest.UpdatedAtMs, version));
        // Read back rather than use the written row: the index derives what the row alone lacks (a
        // fork's lineage), and if the stream already had a local row (written meanwhile) that row wins.
        // No row: this node deleted the stream after the manifest was written; it stays absent.
        var row = database.LoadStream(manifest.Name);
        return new HydrationOutcome(row, manifest.Generation, restored.EpochBumped);
    }
}
