using System.Collections.Concurrent;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Storage;

/// <summary>
/// Pushes one stream's sealed segments to the object store strictly in index order, then publishes
/// its manifest, then — only then — commits the new generation and uploaded_through locally and drops
/// the covered WAL rows. A crash anywhere in between repeats the same steps with the same result:
/// re-uploading a segment writes identical bytes, and a manifest only ever lists uploaded segments.
/// Every manifest put is a compare-and-swap (<see cref="ManifestFence"/>): when another node has
/// taken the stream over, the publish throws <see cref="ManifestConflictException"/> and changes nothing.
/// </summary>
public sealed class ManifestPublisher(
    PipelineQueries queries,
    WalWriter walWriter,
    SegmentFiles files,
    SegmentStore segmentStore,
    IObjectStore objectStore,
    TimeProvider clock)
{
    /// <summary>
    /// Segments put successfully whose publish has not committed yet: object key → checksum put.
    /// A retry after a failed manifest (or a failed later segment) skips them, so each attempt
    /// starts where the last one stopped; otherwise every attempt would have to get all pending
    /// segments through in one go, which a flaky store makes exponentially unlikely as the backlog
    /// grows. Entries go when the publish commits or the stream's tombstone deletes its objects.
    /// </summary>
    private readonly ConcurrentDictionary<string, string> storedNotCommitted = new(StringComparer.Ordinal);

    private readonly ManifestFence fence = new(objectStore, queries.Database);

    /// <summary>
    /// Streams that lost ownership but whose rows a local fork still reads: never published again
    /// by this process (the next start finds the conflict again and retries the forfeit).
    /// </summary>
    private readonly ConcurrentDictionary<long, string> fenced = new();

    /// <summary>Publishes the stream if it is behind; false when the stream no longer exists.</summary>
    public async Task<bool> PublishAsync(long streamId, bool draining, CancellationToken cancellationToken)
    {
        if (fenced.TryGetValue(streamId, out var fencedName))
        {
            throw new ManifestConflictException(fencedName, null, null);
        }

        var snapshot = queries.LoadPublishSnapshot(streamId);
        if (snapshot is null)
        {
            return false;
        }

        var stream = snapshot.Stream;
        var newlyUploaded = new List<SegmentRow>();
        foreach (var segment in snapshot.Segments)
        {
            if (segment.Uploaded)
            {
                continue;
            }

            // Never skip a segment: a manifest lists a contiguous prefix, so a missing earlier
            // segment stops this stream until it uploads.
            var key = ObjectStoreKeys.SegmentKey(stream.Name, segment.StoredName);
            // The checksum must match too: a re-created stream reuses the keys of its predecessor.
            if (!storedNotCommitted.TryGetValue(key, out var stored) || stored != segment.Checksum)
            {
                var bytes = await File.ReadAllBytesAsync(files.PathFor(stream.Name, segment), cancellationToken);
                await objectStore.PutAsync(key, bytes, cancellationToken);
                storedNotCommitted[key] = segment.Checksum;
            }

            newlyUploaded.Add(segment);
        }

        var manifest = BuildManifest(snapshot, draining);
        if (manifest.DrainedClean && !manifest.Closed && stream.OwnershipClaimed)
        {
            // A clean manifest lets the next owner keep the epoch: nothing past it may ever be
            // acknowledged. Should this process die after the put and before recording it, the next
            // start on this disk must not take the stream as still claimed and append past it (its
            // offsets would name records a restore from this manifest never has). Released first;
            // a put that then fails costs only a claim before the next append.
            await walWriter.Submit(new ReleaseOwnershipOperation(streamId));
        }

        var localChecksums = snapshot.Segments.Select(segment => segment.Checksum).ToList();
        var version = await fence.PutAsync(
            manifest,
            found => fence.IsOwn(found, manifest.Generation, localChecksums)
                || (snapshot.LayoutVersion > snapshot.PublishedLayoutVersion
                    && fence.IsOwnBeforeCompaction(found, manifest.Generation, KnownObjectNames(snapshot))),
            cancellationToken);
        var newLayout = snapshot.LayoutVersion > snapshot.PublishedLayoutVersion;
        if (newLayout)
        {
            CrashPoints.Reach(CrashPoints.LayoutManifestPut);
        }

        await walWriter.Submit(new ManifestPublishedOperation(
            streamId,
            manifest.Generation,
            manifest.NextPosition,
            manifest.Producers.Select(p => new ProducerState(p.Id, p.Epoch, p.Seq)).ToList(),
            manifest.StreamSeq,
            manifest.Closed,
            manifest.DrainedClean,
            manifest.UpdatedAtMs,
            stream.Name,
            version)
        {
            LayoutVersion = snapshot.LayoutVersion,
        });
        if (newLayout)
        {
            CrashPoints.Reach(CrashPoints.LayoutPublished);
        }

        foreach (var segment in newlyUploaded)
        {
            // Marked uploaded in the index now, so never put again: the entry has done its job.
            storedNotCommitted.TryRemove(ObjectStoreKeys.SegmentKey(stream.Name, segment.StoredName), out _);
            segmentStore.MarkUploaded(stream.Name, segment.StoredName, segment.ByteSize);
        }

        return true;
    }

    /// <summary>
    /// The objects the local index knows for a stream it has compacted: those it lists and those the
    /// compactions replaced and have not deleted yet (a manifest put before a crash may still list them).
    /// </summary>
    private HashSet<string> KnownObjectNames(PublishSnapshot snapshot) =>
        [.. snapshot.Segments.Select(segment => segment.StoredName), .. queries.PendingDeletionNames(snapshot.Stream.Name)];

    /// <summary>
    /// Ends this node's ownership of a stream another node has taken over: its local rows and
    /// segment files go (see <see cref="ForfeitStreamOperation"/>), and nothing of it is published
    /// again. Returns false when a local fork keeps the rows; the stream is then only fenced.
    /// </summary>
    public async Task<bool> ForfeitAsync(long streamId, string streamName)
    {
        fenced[streamId] = streamName;
        ForgetStoredSegments(streamName);
        if (!await walWriter.Submit(new ForfeitStreamOperation(streamId, streamName)))
        {
            return false;
        }

        segmentStore.RemoveStreamFiles(streamName);
        // The id is never reused (AUTOINCREMENT), so the entry can go with the rows.
        fenced.TryRemove(streamId, out _);
        return true;
    }

    /// <summary>Publishes a deleted stream's tombstone and removes its segment objects.</summary>
    public async Task PublishTombstoneAsync(PendingTombstone tombstone, CancellationToken cancellationToken)
    {
        var manifest = new StreamManifest
        {
            Name = tombstone.Name,
            Writer = fence.WriterId,
            Generation = tombstone.Generation,
            ContentType = ContentTypes.Default,
            UpdatedAtMs = clock.GetUtcNow().ToUnixTimeMilliseconds(),
            Deleted = true,
            DrainedClean = true,
        };
        // The tombstone goes first: once it is visible no restore uses the segments removed below. It
        // is conditional like any manifest: if another node owns the name now, its segments stay.
        var version = await fence.PutAsync(manifest, found => fence.IsOwn(found, tombstone.Generation, localChecksums: null), cancellationToken);
        var segmentsPrefix = ObjectStoreKeys.SegmentsPrefix(tombstone.Name);
        // Deleted below: a later incarnation of the name must put its segments itself.
        ForgetStoredSegments(tombstone.Name);

        string? continuation = null;
        do
        {
            var page = await objectStore.ListAsync(segmentsPrefix, continuation, 1000, cancellationToken);
            foreach (var entry in page.Objects)
            {
                await objectStore.DeleteAsync(entry.Key, cancellationToken);
            }

            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        await walWriter.Submit(new TombstonePublishedOperation(tombstone.Name, tombstone.Generation, version));
    }

    private void ForgetStoredSegments(string streamName)
    {
        var segmentsPrefix = ObjectStoreKeys.SegmentsPrefix(streamName);
        foreach (var key in storedNotCommitted.Keys.Where(key => key.StartsWith(segmentsPrefix, StringComparison.Ordinal)))
        {
            storedNotCommitted.TryRemove(key, out _);
        }
    }

    private StreamManifest BuildManifest(PublishSnapshot snapshot, bool draining)
    {
        var stream = snapshot.Stream;
        var segments = snapshot.Segments;
        // A fork's own records, and so its segments, start at its fork position; below it the
        // parent's manifest holds the records.
        var publishedThrough = segments.Count == 0 ? stream.ForkPosition ?? 0 : segments[^1].EndPosition;
        // Everything acknowledged is in the listed segments: the current producer table, Stream-Seq and
        // closure are exactly right. Otherwise state them as of the last listed record.
        var complete = publishedThrough == stream.NextPosition;
        IReadOnlyList<ProducerState> producers;
        string? streamSeq;
        if (complete)
        {
            producers = stream.Producers;
            streamSeq = stream.LastStreamSeq;
        }
        else
        {
            var updates = segments.Where(s => s.FirstPosition >= stream.UploadedThrough).ToList();
            producers = ProducerJson.Fold(snapshot.PublishedProducers, updates.SelectMany(s => s.ProducerUpdates));
            streamSeq = updates.LastOrDefault(s => s.LastStreamSeq is not null)?.LastStreamSeq ?? snapshot.PublishedStreamSeq;
        }

        var closed = complete && stream.Closed;
        return new StreamManifest
        {
            Name = stream.Name,
            Writer = fence.WriterId,
            Generation = stream.ManifestGeneration + 1,
            ContentType = stream.ContentType,
            CreatedAtMs = stream.CreatedAtMs,
            UpdatedAtMs = clock.GetUtcNow().ToUnixTimeMilliseconds(),
            TtlSeconds = stream.TtlSeconds,
            ExpiresAtMs = stream.ExpiresAtMs,
            SoftDeleted = stream.SoftDeleted,
            ForkParent = stream.ForkParentName,
            ForkPosition = stream.ForkParentName is null ? null : stream.ForkPosition,
            ForkSubOffset = stream.ForkParentName is null || stream.ForkSubOffset == 0 ? null : stream.ForkSubOffset,
            Closed = closed,
            ClosedBy = closed && stream.ClosedBy is { } by ? new ManifestProducer(by.ProducerId, by.Epoch, by.Seq) : null,
            Producers = [.. producers.OrderBy(p => p.ProducerId, StringComparer.Ordinal).Select(p => new ManifestProducer(p.ProducerId, p.Epoch, p.LastSeq))],
            StreamSeq = streamSeq,
            NextPosition = publishedThrough,
            Epochs = [.. stream.Epochs.Select(e => new ManifestEpoch(e.Epoch, e.StartPosition))],
            // A closed, complete stream can never acknowledge another append, so it is as good as drained.
            DrainedClean = complete && (draining || closed),
            Segments = new ManifestSegments
            {
                RecordCounts = [.. segments.Select(s => s.RecordCount)],
                ByteSizes = [.. segments.Select(s => s.ByteSize)],
                Checksums = [.. segments.Select(s => s.Checksum)],
                ObjectNames = ManifestSegments.CompactObjectNames([.. segments.Select(s => s.StoredName)]),
            },
        };
    }
}
