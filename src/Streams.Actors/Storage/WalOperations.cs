using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>Inserts a new stream incarnation with its initial records; yields the new stream id.</summary>
public sealed class CreateStreamOperation(StreamRow row, IReadOnlyList<byte[]> records, long timestampMs)
    : WalOperation<long>
{
    protected override long Execute(WalSession session)
    {
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
                                 manifest_generation, fork_parent_id, fork_position, restored)
            VALUES ($name, $type, $created, $ttl, $expires, $access, $closed, $cpid, $cpepoch, $cpseq, $seq,
                    $next, $sealed, $uploaded, $generation, $forkParent, $forkPosition, $restored)
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
            ("$restored", row.Restored ? 1 : 0))!;

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

/// <summary>
/// Removes a stream incarnation and everything it owns locally, and queues a tombstone manifest so
/// the object store stops offering the stream to a restoring node. Yields the tombstone's
/// generation (0 when the stream was already gone): a later incarnation of the name must publish
/// above it, even once the tombstone is published and its row here is gone.
/// </summary>
public sealed class DeleteStreamOperation(long streamId) : WalOperation<long>
{
    protected override long Execute(WalSession session)
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
        session.Execute("DELETE FROM streams WHERE stream_id = $id", ("$id", streamId));
        return tombstoneGeneration ?? 0;
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
