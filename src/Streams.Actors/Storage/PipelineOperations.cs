using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>
/// Commit point 2: a segment file is on disk (written, fsynced, renamed); record it and advance
/// sealed_through. The update is conditional on sealed_through still being where the segment
/// starts, so a stale or repeated seal cannot overlap another.
/// </summary>
public sealed class SealSegmentOperation(long streamId, SegmentRow segment) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        var advanced = session.Execute(
            "UPDATE streams SET sealed_through = $end WHERE stream_id = $id AND sealed_through = $first AND next_position >= $end",
            ("$end", segment.EndPosition),
            ("$id", streamId),
            ("$first", segment.FirstPosition));
        if (advanced != 1)
        {
            throw new InvalidOperationException($"stream {streamId} is no longer sealed through {segment.FirstPosition}");
        }

        SegmentsTable.Insert(session, streamId, segment);
        return true;
    }
}

/// <summary>
/// Commit point 4, local half: the manifest of <paramref name="generation"/> is in the object store.
/// Advance the generation and uploaded_through and drop the WAL rows it covers, in one transaction.
/// A manifest marked <paramref name="drainedClean"/> also gives up ownership (see below).
/// Yields the payload bytes released from the WAL.
/// </summary>
public sealed class ManifestPublishedOperation(
    long streamId,
    long generation,
    long uploadedThrough,
    IReadOnlyList<ProducerState> publishedProducers,
    string? publishedStreamSeq,
    bool publishedClosed,
    bool publishedClean,
    long publishedAtMs,
    string? manifestName = null,
    string? manifestVersion = null) : WalOperation<long>
{
    /// <summary>The compaction layout the manifest lists (see <see cref="CompactSegmentsOperation"/>).</summary>
    public long LayoutVersion { get; init; }

    protected override long Execute(WalSession session)
    {
        var updated = session.Execute(
            """
            UPDATE streams SET manifest_generation = $generation, uploaded_through = $uploaded,
                published_producers = $producers, published_stream_seq = $seq, published_closed = $closed,
                published_clean = $clean, last_upload_at_ms = $at, last_upload_error = NULL,
                ownership_claimed = CASE WHEN $clean THEN 0 ELSE ownership_claimed END
            WHERE stream_id = $id AND manifest_generation = $previous AND uploaded_through <= $uploaded
            """,
            ("$generation", generation),
            ("$uploaded", uploadedThrough),
            ("$producers", ProducerJson.Serialize(publishedProducers)),
            ("$seq", publishedStreamSeq),
            ("$closed", publishedClosed ? 1 : 0),
            // A manifest marked drained cleanly tells the next owner that nothing past it was
            // acknowledged, so that owner keeps the epoch. Should this node append again (restarted on
            // the same disk) and then be lost, those appends' offsets would be handed out again for
            // other data. Giving up ownership makes its next append publish an unclean manifest first.
            ("$clean", publishedClean ? 1 : 0),
            ("$at", publishedAtMs),
            ("$id", streamId),
            ("$previous", generation - 1));
        if (updated != 1)
        {
            // Deleted meanwhile, or someone else published: the local state must not move.
            throw new InvalidOperationException($"stream {streamId} is not at manifest generation {generation - 1}");
        }

        LayoutPublished.Record(session, streamId, LayoutVersion, publishedAtMs);

        if (manifestName is not null && manifestVersion is not null)
        {
            // The next publish compares against exactly what this one left in the store.
            ManifestVersions.Record(session, manifestName, generation, manifestVersion);
        }

        session.Execute(
            "UPDATE segments SET uploaded = 1 WHERE stream_id = $id AND first_position < $uploaded",
            ("$id", streamId),
            ("$uploaded", uploadedThrough));
        var released = (long)session.Scalar(
            "SELECT COALESCE(SUM(length(payload)), 0) FROM wal WHERE stream_id = $id AND position < $uploaded",
            ("$id", streamId),
            ("$uploaded", uploadedThrough))!;
        // Safe to drop: every record below uploaded_through is in a segment the published manifest lists.
        session.Execute(
            "DELETE FROM wal WHERE stream_id = $id AND position < $uploaded",
            ("$id", streamId),
            ("$uploaded", uploadedThrough));
        return released;
    }
}

/// <summary>Remembers why the last upload of a stream failed, for <c>_details</c>.</summary>
public sealed class UploadFailedOperation(long streamId, string error) : WalOperation<bool>
{
    protected override bool Execute(WalSession session) =>
        session.Execute(
            "UPDATE streams SET last_upload_error = $error WHERE stream_id = $id",
            ("$error", error),
            ("$id", streamId)) == 1;
}

/// <summary>The tombstone manifest of a deleted stream is published: forget it locally.</summary>
public sealed class TombstonePublishedOperation(string name, long generation, string? version = null) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        var forgotten = session.Execute(
            "DELETE FROM tombstones WHERE name = $name AND generation = $generation",
            ("$name", name),
            ("$generation", generation)) == 1;
        // A re-creation of the name compares its first manifest against the tombstone; unless the
        // name was re-created meanwhile, whose own publishes then own the remembered version.
        if (version is not null && session.Scalar("SELECT 1 FROM streams WHERE name = $name", ("$name", name)) is null)
        {
            ManifestVersions.Record(session, name, generation, version);
        }

        return forgotten;
    }
}

/// <summary>
/// This node is about to put a manifest that says it stopped appending (drained cleanly): from here
/// on it must claim the stream again before it appends. Committed before the put, so that a node
/// that dies after the put but before recording it never appends again under that promise.
/// </summary>
public sealed class ReleaseOwnershipOperation(long streamId) : WalOperation<bool>
{
    protected override bool Execute(WalSession session) =>
        session.Execute("UPDATE streams SET ownership_claimed = 0 WHERE stream_id = $id", ("$id", streamId)) == 1;
}

/// <summary>This node has published its own manifest for a taken-over stream: it may now append.</summary>
public sealed class ClaimOwnershipOperation(long streamId) : WalOperation<bool>
{
    protected override bool Execute(WalSession session) =>
        session.Execute("UPDATE streams SET ownership_claimed = 1 WHERE stream_id = $id", ("$id", streamId)) == 1;
}

/// <summary>
/// Drops an idle stream's local rows when the object store holds all of it (lazy restore's bounded
/// disk). Yields false, changing nothing, when anything is still unpublished — including, for a
/// stream with a sliding TTL, activity (<paramref name="lastAccessMs"/>) newer than its manifest —
/// or when a local fork still reads through the stream.
/// </summary>
public sealed class EvictStreamOperation(long streamId, long lastAccessMs) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        // A restore takes a stream's last activity from its manifest's time. Evicting a TTL stream
        // read since would forget those reads, and the next touch could find it expired and delete it.
        // A local fork reads the stream's records through its local id, which a restore would not
        // give back (ids are never reused): a fork's source stays while the fork is here.
        var publishable = session.Scalar(
            """
            SELECT 1 FROM streams WHERE stream_id = $id AND uploaded_through = next_position
               AND closed = published_closed AND last_upload_at_ms IS NOT NULL
               AND layout_version = published_layout_version
               AND (ttl_seconds IS NULL OR $access <= last_upload_at_ms)
               AND NOT EXISTS (SELECT 1 FROM wal WHERE wal.stream_id = $id)
               AND NOT EXISTS (SELECT 1 FROM streams fork WHERE fork.fork_parent_id = $id)
            """,
            ("$id", streamId),
            ("$access", lastAccessMs));
        if (publishable is null)
        {
            return false;
        }

        session.Execute("DELETE FROM producers WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM stream_epochs WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM segments WHERE stream_id = $id", ("$id", streamId));
        return session.Execute("DELETE FROM streams WHERE stream_id = $id", ("$id", streamId)) == 1;
    }
}
