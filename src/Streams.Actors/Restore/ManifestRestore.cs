using Streams.Actors.Domain;
using Streams.Actors.Storage;

namespace Streams.Actors.Restore;

/// <summary>
/// Turns a manifest into the local index rows of its stream. The eager bootstrap and lazy
/// hydration both use this, so a stream's rows are the same whichever path wrote them.
/// </summary>
public static class ManifestRestore
{
    /// <summary>The rows for <paramref name="manifest"/>; null for a tombstone.</summary>
    /// <param name="forkParentId">The local id of the fork's source, already restored; null for a plain stream.</param>
    public static RestoredStream? ToRows(StreamManifest manifest, long nowMs, long? forkParentId = null)
    {
        if (manifest.Deleted)
        {
            return null;
        }

        var epochs = manifest.Epochs.Count == 0
            ? EpochHistory.Initial
            : new EpochHistory(manifest.Epochs.Select(e => new EpochStart(e.Epoch, e.Start)));
        if (!manifest.DrainedClean)
        {
            // The previous owner may have acknowledged appends it never published. New offsets must
            // sort after every offset it could have handed out, so they get a new epoch.
            epochs = epochs.Bump(manifest.NextPosition);
        }

        var row = new StreamRow
        {
            Name = manifest.Name,
            ContentType = manifest.ContentType,
            CreatedAtMs = manifest.CreatedAtMs,
            TtlSeconds = manifest.TtlSeconds,
            ExpiresAtMs = manifest.ExpiresAtMs,
            // The manifest's time is the newest activity this node can prove.
            LastAccessMs = Math.Min(manifest.UpdatedAtMs, nowMs),
            Closed = manifest.Closed,
            ClosedBy = manifest.ClosedBy is { } by ? new ProducerClaim(by.Id, by.Epoch, by.Seq) : null,
            LastStreamSeq = manifest.StreamSeq,
            NextPosition = manifest.NextPosition,
            SealedThrough = manifest.NextPosition,
            UploadedThrough = manifest.NextPosition,
            ManifestGeneration = manifest.Generation,
            Restored = true,
            OwnershipClaimed = false,
            SoftDeleted = manifest.SoftDeleted,
            ForkParentId = forkParentId,
            ForkParentName = manifest.ForkParent,
            ForkPosition = manifest.ForkPosition,
            ForkSubOffset = manifest.ForkSubOffset ?? 0,
            Epochs = epochs.Starts,
            Producers = [.. manifest.Producers.Select(p => new ProducerState(p.Id, p.Epoch, p.Seq))],
        };

        var segments = SegmentRow.ListedBy(manifest);
        return new RestoredStream(row, segments, EpochBumped: !manifest.DrainedClean);
    }
}

public sealed record RestoredStream(StreamRow Row, IReadOnlyList<SegmentRow> Segments, bool EpochBumped);

/// <summary>
/// Writes a restored stream's rows in one transaction: stream, epochs, producers and segments, all
/// marked published. Does nothing (and yields null) when the stream already has a local row, or
/// when this node deleted the stream after that manifest was written and its tombstone is still
/// waiting to be published.
/// </summary>
public sealed class HydrateStreamOperation(RestoredStream restored, long publishedAtMs, string? manifestVersion = null) : WalOperation<StreamRow?>
{
    protected override StreamRow? Execute(WalSession session) => Write(session, restored, publishedAtMs, manifestVersion);

    /// <summary>The rows of one restored stream, inside the caller's transaction; null when nothing was written.</summary>
    internal static StreamRow? Write(WalSession session, RestoredStream restored, long publishedAtMs, string? manifestVersion)
    {
        var row = restored.Row;
        if (session.Scalar("SELECT stream_id FROM streams WHERE name = $name", ("$name", row.Name)) is not null)
        {
            return null;
        }

        // A pending tombstone is one generation above the last manifest this node committed, so it
        // is at or above any manifest this node wrote before the delete (equal when a publish reached
        // the store but not the index). Such a manifest is stale: restoring it would bring a deleted
        // stream back. Only a strictly newer manifest, written by a later owner, replaces the tombstone.
        if (session.Scalar("SELECT generation FROM tombstones WHERE name = $name", ("$name", row.Name)) is long tombstone
            && tombstone >= row.ManifestGeneration)
        {
            return null;
        }

        session.Execute("DELETE FROM tombstones WHERE name = $name", ("$name", row.Name));
        // This node's first publish of the stream compares against the manifest it restored from.
        if (manifestVersion is not null)
        {
            ManifestVersions.Record(session, row.Name, row.ManifestGeneration, manifestVersion);
        }
        var streamId = (long)session.Scalar(
            """
            INSERT INTO streams (name, content_type, created_at_ms, ttl_seconds, expires_at_ms, last_access_ms,
                                 closed, closed_by_producer_id, closed_by_producer_epoch, closed_by_producer_seq,
                                 last_stream_seq, next_position, sealed_through, uploaded_through,
                                 manifest_generation, last_upload_at_ms, restored, published_producers,
                                 published_stream_seq, published_closed, published_clean, ownership_claimed,
                                 soft_deleted, fork_parent_id, fork_position, fork_sub_offset, fork_parent_name)
            VALUES ($name, $type, $created, $ttl, $expires, $access, $closed, $cpid, $cpepoch, $cpseq, $seq,
                    $next, $next, $next, $generation, $published, 1, $producers, $seq, $closed, $clean, 0,
                    $softDeleted, $forkParent, $forkPosition, $forkSubOffset, $forkParentName)
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
            ("$next", row.NextPosition),
            ("$generation", row.ManifestGeneration),
            ("$published", publishedAtMs),
            ("$producers", ProducerJson.Serialize(row.Producers)),
            ("$clean", restored.EpochBumped ? 0 : 1),
            ("$softDeleted", row.SoftDeleted ? 1 : 0),
            ("$forkParent", row.ForkParentId),
            ("$forkPosition", row.ForkParentId is null && !row.ForkSourceIsRemote ? null : row.ForkPosition),
            ("$forkSubOffset", row.ForkParentId is null && !row.ForkSourceIsRemote ? null : row.ForkSubOffset),
            // Restored in cluster mode, a fork keeps its source by name and reads it through the cluster.
            ("$forkParentName", row.ForkSourceIsRemote ? row.ForkParentName : null))!;

        foreach (var epoch in row.Epochs)
        {
            session.Execute(
                "INSERT INTO stream_epochs (stream_id, epoch, start_position) VALUES ($id, $epoch, $start)",
                ("$id", streamId),
                ("$epoch", epoch.Epoch),
                ("$start", epoch.StartPosition));
        }

        foreach (var producer in row.Producers)
        {
            session.Execute(
                "INSERT INTO producers (stream_id, producer_id, epoch, last_seq) VALUES ($id, $producer, $epoch, $seq)",
                ("$id", streamId),
                ("$producer", producer.ProducerId),
                ("$epoch", producer.Epoch),
                ("$seq", producer.LastSeq));
        }

        foreach (var segment in restored.Segments)
        {
            SegmentsTable.Insert(session, streamId, segment);
        }

        return row with { StreamId = streamId };
    }
}

/// <summary>A fetched manifest's rows, ready to be written by <see cref="HydrateStreamsOperation"/>.</summary>
/// <param name="PublishedAtMs">The manifest's own time, recorded as the stream's last publish.</param>
/// <param name="ManifestVersion">The manifest object's version: this node's next publish compares against it.</param>
public sealed record StreamToRestore(RestoredStream Restored, long PublishedAtMs, string ManifestVersion);

/// <summary>
/// The rows of many restored streams in one transaction (the eager restore's batches): one commit,
/// and so one fsync, for all of them. Each stream is written exactly as by
/// <see cref="HydrateStreamOperation"/>, so a stream that already has a row is left alone. One
/// stream whose rows cannot be written fails the whole batch (nothing of it is committed); the
/// caller then writes that batch's streams one operation each, so only the faulty one fails.
/// </summary>
public sealed class HydrateStreamsOperation(IReadOnlyList<StreamToRestore> streams) : WalOperation<int>
{
    /// <returns>How many streams got rows (the others already had a row or a newer tombstone).</returns>
    protected override int Execute(WalSession session)
    {
        var written = 0;
        foreach (var stream in streams)
        {
            if (HydrateStreamOperation.Write(session, stream.Restored, stream.PublishedAtMs, stream.ManifestVersion) is not null)
            {
                written++;
            }
        }

        return written;
    }
}
