using Streams.Actors.ObjectStore;
using Streams.Actors.Storage.Segments;

namespace Streams.Actors.Storage;

/// <summary>The streams a sealing round sealed; when its earliest waiting tail is due by age (null: none waits).</summary>
public sealed record SealRound(IReadOnlyList<long> SealedStreams, long? NextDueMs);

/// <summary>When a stream's waiting records are sealed into a segment.</summary>
public sealed record SealPolicy(int TargetRows, long TargetBytes, TimeSpan MaxAge);

/// <summary>
/// Seals runs of WAL rows into segment files: write the file (temp, fsync, rename), then commit its
/// row and the new sealed_through. A crash between the two leaves an orphan file, unknown to the
/// index, that the start-up sweep removes; the index never points at a file that is not complete.
/// </summary>
public sealed class SegmentSealer(
    PipelineQueries queries,
    WalWriter walWriter,
    SegmentFiles files,
    SegmentWriter writer,
    SealPolicy policy)
{
    /// <summary>
    /// Transactions the local index has committed so far. While it stays the same, nothing a round
    /// looks at has changed: only the clock can make more records due (a quiet tail reaching its
    /// age), and a round says when that happens (<see cref="SealRound.NextDueMs"/>).
    /// </summary>
    public long IndexCommits => walWriter.CommitCount;

    /// <summary>Seals whatever the policy (or <paramref name="force"/>) says is due; yields the streams sealed.</summary>
    public async Task<IReadOnlyList<long>> SealDueAsync(long nowMs, bool force, CancellationToken cancellationToken) =>
        (await SealDueRoundAsync(nowMs, force, cancellationToken)).SealedStreams;

    /// <summary>As <see cref="SealDueAsync"/>, and when the earliest tail left waiting becomes due by age.</summary>
    public async Task<SealRound> SealDueRoundAsync(long nowMs, bool force, CancellationToken cancellationToken)
    {
        var sealedStreams = new List<long>();
        long? nextDueMs = null;
        foreach (var candidate in queries.FindSealCandidates())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (sealedAny, leftWaiting) = await SealStreamAsync(candidate, nowMs, force);
            if (sealedAny)
            {
                sealedStreams.Add(candidate.StreamId);
            }

            if (leftWaiting)
            {
                // The oldest record the candidate had: at or before the true age of what is left,
                // so the next round comes no later than it must.
                var dueMs = candidate.OldestPendingMs + (long)policy.MaxAge.TotalMilliseconds;
                nextDueMs = nextDueMs is { } earlier ? Math.Min(earlier, dueMs) : dueMs;
            }
        }

        return new SealRound(sealedStreams, nextDueMs);
    }

    /// <summary>Seals every waiting record of the given streams, whatever the policy says; yields the streams sealed.</summary>
    public async Task<IReadOnlyList<long>> SealStreamsNowAsync(IReadOnlySet<long> streamIds, long nowMs, CancellationToken cancellationToken)
    {
        var sealedStreams = new List<long>();
        foreach (var candidate in queries.FindSealCandidates().Where(candidate => streamIds.Contains(candidate.StreamId)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if ((await SealStreamAsync(candidate, nowMs, force: true)).SealedAny)
            {
                sealedStreams.Add(candidate.StreamId);
            }
        }

        return sealedStreams;
    }

    /// <returns>Whether a segment was sealed, and whether records of the stream are still waiting.</returns>
    private async Task<(bool SealedAny, bool LeftWaiting)> SealStreamAsync(SealCandidate candidate, long nowMs, bool force)
    {
        var aged = nowMs - candidate.OldestPendingMs >= policy.MaxAge.TotalMilliseconds;
        var sealedAny = false;
        var from = candidate.SealedThrough;
        var pendingRows = candidate.PendingRows;
        var pendingBytes = candidate.PendingBytes;
        while (pendingRows > 0)
        {
            var full = pendingRows >= policy.TargetRows || pendingBytes >= policy.TargetBytes;
            if (!full && !aged && !force)
            {
                break;
            }

            var rows = queries.ReadRowsToSeal(candidate.StreamId, from, policy.TargetRows, policy.TargetBytes);
            if (rows.Count == 0)
            {
                break;
            }

            var segment = await SealAsync(candidate, rows);
            if (segment is null)
            {
                break;
            }

            sealedAny = true;
            from = segment.EndPosition;
            pendingRows -= rows.Count;
            pendingBytes -= rows.Sum(row => (long)row.Payload.Length);
        }

        return (sealedAny, pendingRows > 0);
    }

    private async Task<SegmentRow?> SealAsync(SealCandidate candidate, List<WalRow> rows)
    {
        var index = queries.NextSegmentIndex(candidate.StreamId);
        // The object name is chosen now and committed with the row, so every upload of this segment
        // (a retry, or a re-upload after a crash) puts the same key, and no other writer's can be it.
        var objectName = ObjectStoreKeys.NewSegmentObjectName(rows[0].Position);
        var path = files.PathFor(candidate.Name, objectName);
        var records = rows.Select(row => new SegmentRecord(row.Position, row.TimestampMs, row.Payload)).ToList();
        var file = writer.WriteFile(path, records);

        var producerUpdates = new Dictionary<string, Domain.ProducerState>(StringComparer.Ordinal);
        string? lastStreamSeq = null;
        foreach (var row in rows)
        {
            if (row.Producer is { } producer)
            {
                producerUpdates[producer.ProducerId] = producer;
            }

            lastStreamSeq = row.StreamSeq ?? lastStreamSeq;
        }

        var segment = new SegmentRow(
            candidate.StreamId,
            index,
            file.FirstPosition,
            file.RecordCount,
            file.SizeBytes,
            file.Checksum,
            Uploaded: false,
            [.. producerUpdates.Values],
            lastStreamSeq,
            objectName);
        try
        {
            await walWriter.Submit(new SealSegmentOperation(candidate.StreamId, segment));
            return segment;
        }
        catch (InvalidOperationException)
        {
            // The stream was deleted or sealed by someone else meanwhile: the file belongs to nobody.
            File.Delete(path);
            return null;
        }
    }
}
