using Streams.Actors.ObjectStore;
using Streams.Actors.Storage.Segments;

namespace Streams.Actors.Storage;

/// <summary>
/// Merges runs of a stream's small uploaded segments (as <see cref="CompactionPolicy"/> plans them)
/// and deletes the objects they replaced once no reader can need them. The commit points, in order
/// (docs/storage-format.md, "Compaction"):
/// <list type="number">
/// <item>merged segment files written locally (temp, fsync, rename) under fresh names;</item>
/// <item>their names recorded for deletion after the grace, should the compaction never commit;</item>
/// <item>merged segments put in the object store;</item>
/// <item>local commit: merged rows replace the old ones, the layout version goes up, the old objects
/// are queued for deletion (the uploader then publishes a manifest listing the new layout);</item>
/// <item>after a manifest of that layout is published and the grace has passed: old objects and
/// their local files deleted, then forgotten.</item>
/// </list>
/// Nothing a published manifest lists is deleted before a newer manifest stops listing it, and a
/// reader that fetched the older manifest has the grace to fetch its segments.
/// </summary>
public sealed class SegmentCompactor(
    PipelineQueries queries,
    WalWriter walWriter,
    SegmentFiles files,
    SegmentStore segmentStore,
    IObjectStore objectStore,
    SegmentWriter writer,
    CompactionPolicy policy,
    TimeProvider clock)
{
    // Deletions per round: enough to keep up with any realistic compaction rate, few enough that a
    // round never holds the compactor for long.
    private const int DeletionBatch = 1000;

    public CompactionPolicy Policy => policy;

    /// <summary>
    /// Plans and runs one compaction of the stream; yields the number of segments it removed from the
    /// stream's list (0 when there was nothing to merge or the stream changed meanwhile).
    /// </summary>
    public async Task<int> CompactAsync(CompactionCandidate candidate, bool quiet, CancellationToken cancellationToken)
    {
        var segments = queries.LoadSegments(candidate.StreamId);
        var groups = policy.Plan(segments, quiet);
        if (groups.Count == 0)
        {
            return 0;
        }

        var merged = new List<(SegmentRow Row, string Path)>();
        foreach (var group in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            merged.Add(await MergeAsync(candidate.Name, group, cancellationToken));
        }

        CrashPoints.Reach(CrashPoints.CompactionFilesWritten);
        var startedAtMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await walWriter.Submit(new CompactionStartedOperation(
            candidate.StreamId,
            candidate.Name,
            [.. merged.Select(output => output.Row.StoredName)],
            startedAtMs));
        CrashPoints.Reach(CrashPoints.CompactionIntentRecorded);
        foreach (var (row, path) in merged)
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            await objectStore.PutAsync(ObjectStoreKeys.SegmentKey(candidate.Name, row.StoredName), bytes, cancellationToken);
        }

        CrashPoints.Reach(CrashPoints.CompactionUploaded);
        // The last point at which a hand-off or a drain can call the compaction off (CompactionGate).
        cancellationToken.ThrowIfCancellationRequested();
        var replaced = groups.SelectMany(group => group).ToList();
        var committed = await walWriter.Submit(new CompactSegmentsOperation(
            candidate.StreamId,
            candidate.Name,
            replaced,
            [.. merged.Select(output => output.Row)]));
        if (!committed)
        {
            // The stream changed under us: the merged objects stay queued for deletion after the grace.
            return 0;
        }

        CrashPoints.Reach(CrashPoints.CompactionCommitted);
        foreach (var (row, _) in merged)
        {
            segmentStore.MarkUploaded(candidate.Name, row.StoredName, row.ByteSize);
        }

        return replaced.Count - merged.Count;
    }

    /// <summary>
    /// Deletes the objects (and local files) released at least <paramref name="grace"/> ago; yields
    /// how many. A failed delete leaves its row for the next round.
    /// </summary>
    public async Task<int> DeleteReleasedAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow().ToUnixTimeMilliseconds() - (long)grace.TotalMilliseconds;
        var due = queries.DueDeletions(cutoff, DeletionBatch);
        var deleted = new List<ObjectDeletion>();
        foreach (var deletion in due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Deleting an absent object succeeds: a repeat after a crash is harmless.
            await objectStore.DeleteAsync(ObjectStoreKeys.SegmentKey(deletion.StreamName, deletion.ObjectName), cancellationToken);
            segmentStore.Forget(deletion.StreamName, deletion.ObjectName);
            deleted.Add(deletion);
        }

        if (deleted.Count == 0)
        {
            return 0;
        }

        CrashPoints.Reach(CrashPoints.ReplacedObjectsDeleted);
        await walWriter.Submit(new ObjectsDeletedOperation(deleted));
        return deleted.Count;
    }

    /// <summary>Writes one merged segment file holding every record of <paramref name="group"/>.</summary>
    private async Task<(SegmentRow Row, string Path)> MergeAsync(string streamName, IReadOnlyList<SegmentRow> group, CancellationToken cancellationToken)
    {
        var records = new List<SegmentRecord>();
        foreach (var segment in group)
        {
            var bytes = await segmentStore.GetAsync(streamName, segment, cancellationToken);
            var reader = new SegmentReader(bytes, $"{streamName}#{segment.Index}");
            if (reader.FirstPosition != segment.FirstPosition || reader.RecordCount != segment.RecordCount)
            {
                throw new SegmentCorruptException(segment.StoredName, blockIndex: null, "the segment does not hold the records its row describes");
            }

            records.AddRange(reader.ReadAll());
        }

        var objectName = ObjectStoreKeys.NewSegmentObjectName(group[0].FirstPosition);
        var path = files.PathFor(streamName, objectName);
        var file = writer.WriteFile(path, records);
        var row = new SegmentRow(
            group[0].StreamId,
            // The merged segment takes the first replaced index, so index order stays position order.
            group[0].Index,
            file.FirstPosition,
            file.RecordCount,
            file.SizeBytes,
            file.Checksum,
            Uploaded: true,
            [],
            null,
            objectName);
        return (row, path);
    }
}
