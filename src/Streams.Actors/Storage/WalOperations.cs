using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>
/// Inserts a new stream incarnation with its initial records; yields the new stream id.
/// <paramref name="appendSizes"/> splits the records into the appends they came from (a PUT body is
/// one; a fork's materialised prefix and its initial body are two); null records no append
/// boundaries, for records whose appends are not known (rebuilt from segments).
/// </summary>
public sealed class CreateStreamOperation(
    StreamRow row,
    IReadOnlyList<byte[]> records,
    long timestampMs,
    IReadOnlyList<int>? appendSizes = null) : WalOperation<long>
{
    protected override long Execute(WalSession session)
    {
        if (row.ForkParentId is { } parentId &&
            session.Scalar("SELECT 1 FROM streams WHERE stream_id = $id", ("$id", parentId)) is null)
        {
            // The source was removed after it described itself for this fork: a fork must never
            // reference a stream whose records are gone.
            throw new ForkSourceGoneException(row.Name, parentId);
        }

        // A tombstone not yet published for this name: the new incarnation's first manifest must
        // outrank it, and it no longer needs publishing (the new manifest replaces it).
        var tombstoneGeneration = session.Scalar(
            "DELETE FROM tombstones WHERE name = $name RETURNING generation",
            ("$name", row.Name)) as long?;
        var generation = Math.Max(row.ManifestGeneration, tombstoneGeneration ?? 0);
        var streamId = (long)session.Scalar(
            """
            INSERT INTO streams (name, content_type, created_at_ms, ttl_seconds, expires_at_ms, last_access_ms,
                                 closed, closed_by_producer_id, closed_by_producer_epoch, closed_by_producer_seq,
                                 last_stream_seq, next_position, sealed_through, uploaded_through,
                                 manifest_generation, fork_parent_id, fork_position, fork_sub_offset, restored,
                                 fork_parent_name)
            VALUES ($name, $type, $created, $ttl, $expires, $access, $closed, $cpid, $cpepoch, $cpseq, $seq,
                    $next, $sealed, $uploaded, $generation, $forkParent, $forkPosition, $forkSubOffset, $restored,
                    $forkParentName)
            RETURNING stream_id
            """,
            ("$name", row.Name),
            ("$type", row.ContentType),
            ("$created", row.CreatedAtMs),
            ("$ttl", row.TtlSeconds),
            ("$expires", row.ExpiresAtMs),
            ("$access", row.LastAccessMs),
            ("$closed", row.Closed ? 1 : 0),
            ("$cpid", row.ClosedBy?.ProducerId),
            ("$cpepoch", row.ClosedBy?.Epoch),
            ("$cpseq", row.ClosedBy?.Seq),
            ("$seq", row.LastStreamSeq),
            ("$next", row.NextPosition + records.Count),
            ("$sealed", row.SealedThrough),
            ("$uploaded", row.UploadedThrough),
            ("$generation", generation),
            ("$forkParent", row.ForkParentId),
            ("$forkPosition", row.ForkPosition),
            ("$forkSubOffset", row.ForkParentId is null && !row.ForkSourceIsRemote ? null : row.ForkSubOffset),
            ("$restored", row.Restored ? 1 : 0),
            // Only a fork with no local parent row keeps the name; a local fork's comes from its parent.
            ("$forkParentName", row.ForkSourceIsRemote ? row.ForkParentName : null))!;

        var epochs = row.Epochs.Count == 0 ? [new EpochStart(0, 0)] : row.Epochs;
        foreach (var epoch in epochs)
        {
            session.Execute(
                "INSERT INTO stream_epochs (stream_id, epoch, start_position) VALUES ($id, $epoch, $start)",
                ("$id", streamId),
                ("$epoch", epoch.Epoch),
                ("$start", epoch.StartPosition));
        }

        foreach (var producer in row.Producers)
        {
            ProducerRows.Upsert(session, streamId, producer);
        }

        WalRows.Insert(session, streamId, row.NextPosition, records, timestampMs, producer: null, streamSeq: null);
        var first = row.NextPosition;
        foreach (var size in appendSizes ?? [])
        {
            AppendBatchRows.Insert(session, streamId, first, size);
            first += size;
        }

        return streamId;
    }
}

/// <summary>
/// Appends records and the stream state they change (closure, Stream-Seq, producer) atomically,
/// so producer dedupe never disagrees with the data after a crash.
/// </summary>
public sealed class AppendOperation(
    long streamId,
    long firstPosition,
    IReadOnlyList<byte[]> records,
    long timestampMs,
    bool close,
    ProducerClaim? closedBy,
    string? lastStreamSeq,
    ProducerState? producer) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        WalRows.Insert(session, streamId, firstPosition, records, timestampMs, producer, lastStreamSeq);
        AppendBatchRows.Insert(session, streamId, firstPosition, records.Count);
        var updated = session.Execute(
            """
            UPDATE streams SET
                next_position = $next,
                last_access_ms = $access,
                closed = CASE WHEN $close THEN 1 ELSE closed END,
                closed_by_producer_id = CASE WHEN $close THEN $cpid ELSE closed_by_producer_id END,
                closed_by_producer_epoch = CASE WHEN $close THEN $cpepoch ELSE closed_by_producer_epoch END,
                closed_by_producer_seq = CASE WHEN $close THEN $cpseq ELSE closed_by_producer_seq END,
                last_stream_seq = COALESCE($seq, last_stream_seq)
            WHERE stream_id = $id AND next_position = $first
            """,
            ("$next", firstPosition + records.Count),
            ("$access", timestampMs),
            ("$close", close ? 1 : 0),
            ("$cpid", closedBy?.ProducerId),
            ("$cpepoch", closedBy?.Epoch),
            ("$cpseq", closedBy?.Seq),
            ("$seq", lastStreamSeq),
            ("$id", streamId),
            ("$first", firstPosition));
        if (updated != 1)
        {
            // The owner's view of the tail disagrees with the index: refuse rather than write a gap.
            throw new InvalidOperationException($"stream {streamId} is not at position {firstPosition}");
        }

        if (producer is not null)
        {
            ProducerRows.Upsert(session, streamId, producer);
        }

        return true;
    }
}

/// <summary>What became of a stream asked to go away.</summary>
public enum StreamRemoval
{
    /// <summary>Removed with everything it owned; a tombstone is queued.</summary>
    Removed,

    /// <summary>Forks still read through it: kept, marked soft-deleted.</summary>
    SoftDeleted,

    /// <summary>There was no such stream.</summary>
    Missing,
}

/// <summary>
/// A DELETE (or an expiry, or the release of its last fork): removes the stream unless a fork still
/// references it, in which case it is only marked soft-deleted and its records stay for the forks.
/// The decision is made here, inside the writer's transaction, so it cannot race a fork's creation:
/// a fork row committed first keeps the source, a removal committed first makes the fork's insert fail.
/// In cluster mode forks reference their source by marker objects in the bucket instead
/// (<see cref="ObjectStore.ForkReferences"/>); the owner looks before it writes and passes
/// <paramref name="referencedElsewhere"/>.
/// </summary>
public sealed class RemoveUnlessForkedOperation(long streamId, bool referencedElsewhere = false) : WalOperation<StreamRemoval>
{
    /// <summary>
    /// After a <see cref="StreamRemoval.Removed"/> result: the generation of the queued tombstone.
    /// A later incarnation of the name must publish above it, even once the tombstone is published
    /// and its row in the index is gone. Read it only after the operation completed.
    /// </summary>
    public long TombstoneGeneration { get; private set; }

    protected override StreamRemoval Execute(WalSession session)
    {
        if (referencedElsewhere
            || session.Scalar("SELECT 1 FROM streams WHERE fork_parent_id = $id LIMIT 1", ("$id", streamId)) is not null)
        {
            return session.Execute("UPDATE streams SET soft_deleted = 1 WHERE stream_id = $id", ("$id", streamId)) == 1
                ? StreamRemoval.SoftDeleted
                : StreamRemoval.Missing;
        }

        if (StreamRows.Remove(session, streamId) is not { } tombstoneGeneration)
        {
            return StreamRemoval.Missing;
        }

        TombstoneGeneration = tombstoneGeneration;
        return StreamRemoval.Removed;
    }
}

/// <summary>The source of a fork being created no longer exists.</summary>
public sealed class ForkSourceGoneException(string forkName, long sourceStreamId)
    : InvalidOperationException($"stream '{forkName}' cannot be forked from stream {sourceStreamId}: it was removed");

internal static class StreamRows
{
    /// <summary>
    /// Removes a stream incarnation with everything it owns and queues its tombstone; yields the
    /// tombstone's generation, or null when there was no such stream.
    /// </summary>
    public static long? Remove(WalSession session, long streamId)
    {
        var tombstoneGeneration = session.Scalar(
            """
            INSERT INTO tombstones (name, generation)
            SELECT name, manifest_generation + 1 FROM streams WHERE stream_id = $id
            ON CONFLICT (name) DO UPDATE SET generation = MAX(generation, excluded.generation)
            RETURNING generation
            """,
            ("$id", streamId)) as long?;
        session.Execute("DELETE FROM wal WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM producers WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM stream_epochs WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM segments WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM append_batches WHERE stream_id = $id", ("$id", streamId));
        return session.Execute("DELETE FROM streams WHERE stream_id = $id", ("$id", streamId)) == 1 ? tombstoneGeneration : null;
    }
}

/// <summary>Records activity for the sliding TTL, so expiry survives a restart.</summary>
public sealed class TouchStreamOperation(long streamId, long lastAccessMs) : WalOperation<bool>
{
    protected override bool Execute(WalSession session) =>
        session.Execute(
            "UPDATE streams SET last_access_ms = MAX(last_access_ms, $access) WHERE stream_id = $id",
            ("$access", lastAccessMs),
            ("$id", streamId)) == 1;
}

internal static class WalRows
{
    public static void Insert(
        WalSession session,
        long streamId,
        long firstPosition,
        IReadOnlyList<byte[]> records,
        long timestampMs,
        ProducerState? producer,
        string? streamSeq)
    {
        if (records.Count == 0)
        {
            return;
        }

        var command = session.Command(
            """
            INSERT INTO wal (stream_id, position, timestamp_ms, payload, producer_id, producer_epoch, producer_seq, stream_seq)
            VALUES ($id, $position, $timestamp, $payload, $producer, $epoch, $seq, $streamSeq)
            """);
        command.Parameters.AddWithValue("$id", streamId);
        var position = command.Parameters.AddWithValue("$position", firstPosition);
        command.Parameters.AddWithValue("$timestamp", timestampMs);
        var payload = command.Parameters.Add("$payload", Microsoft.Data.Sqlite.SqliteType.Blob);
        var producerId = command.Parameters.AddWithValue("$producer", DBNull.Value);
        var producerEpoch = command.Parameters.AddWithValue("$epoch", DBNull.Value);
        var producerSeq = command.Parameters.AddWithValue("$seq", DBNull.Value);
        var seq = command.Parameters.AddWithValue("$streamSeq", DBNull.Value);
        for (var i = 0; i < records.Count; i++)
        {
            position.Value = firstPosition + i;
            payload.Value = records[i];
            if (i == records.Count - 1)
            {
                producerId.Value = (object?)producer?.ProducerId ?? DBNull.Value;
                producerEpoch.Value = (object?)producer?.Epoch ?? DBNull.Value;
                producerSeq.Value = (object?)producer?.LastSeq ?? DBNull.Value;
                seq.Value = (object?)streamSeq ?? DBNull.Value;
            }

            command.ExecuteNonQuery();
        }
    }
}

internal static class AppendBatchRows
{
    /// <summary>Remembers an append of more than one record; single-record appends need no row.</summary>
    public static void Insert(WalSession session, long streamId, long firstPosition, int recordCount)
    {
        if (recordCount <= 1)
        {
            return;
        }

        session.Execute(
            "INSERT INTO append_batches (stream_id, first_position, record_count) VALUES ($id, $first, $count)",
            ("$id", streamId),
            ("$first", firstPosition),
            ("$count", recordCount));
    }
}

internal static class ProducerRows
{
    public static void Upsert(WalSession session, long streamId, ProducerState producer) =>
        session.Execute(
            """
            INSERT INTO producers (stream_id, producer_id, epoch, last_seq) VALUES ($id, $producer, $epoch, $seq)
            ON CONFLICT (stream_id, producer_id) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq
            """,
            ("$id", streamId),
            ("$producer", producer.ProducerId),
            ("$epoch", producer.Epoch),
            ("$seq", producer.LastSeq));
}
