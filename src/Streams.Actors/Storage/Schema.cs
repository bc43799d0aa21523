namespace Streams.Actors.Storage;

/// <summary>
/// The local index. It is a cache of durable remote state: everything here can be rebuilt from
/// the object store except the WAL rows not yet published in a manifest.
/// </summary>
internal static class Schema
{
    /// <summary>
    /// 2 added <c>segments.object_name</c>; 3 added the layout versions of compaction and
    /// <c>object_deletions</c>; 4 added <c>streams.fork_parent_name</c>. <see cref="Migrations"/>
    /// brings an older file up to date.
    /// </summary>
    public const int Version = 4;

    public const string Create = """
        CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);

        -- One row per live stream incarnation. A DELETE removes the row, so a re-created stream
        -- gets a new stream_id and shares nothing with its predecessor. AUTOINCREMENT: without it
        -- SQLite hands the highest deleted id out again, and the id is the incarnation clients see
        -- (in ETags).
        CREATE TABLE IF NOT EXISTS streams (
            stream_id                INTEGER PRIMARY KEY AUTOINCREMENT,
            name                     TEXT    NOT NULL UNIQUE,
            content_type             TEXT    NOT NULL,
            created_at_ms            INTEGER NOT NULL,
            ttl_seconds              INTEGER,
            expires_at_ms            INTEGER,
            last_access_ms           INTEGER NOT NULL,
            closed                   INTEGER NOT NULL DEFAULT 0,
            closed_by_producer_id    TEXT,
            closed_by_producer_epoch INTEGER,
            closed_by_producer_seq   INTEGER,
            last_stream_seq          TEXT,
            -- Number of records ever appended: the position the next record gets.
            next_position            INTEGER NOT NULL DEFAULT 0,
            -- Records below sealed_through live in segment files; below uploaded_through they are
            -- also referenced by a published manifest. uploaded_through <= sealed_through <= next_position.
            sealed_through           INTEGER NOT NULL DEFAULT 0,
            uploaded_through         INTEGER NOT NULL DEFAULT 0,
            manifest_generation      INTEGER NOT NULL DEFAULT 0,
            last_upload_at_ms        INTEGER,
            last_upload_error        TEXT,
            -- A fork reads its parent's records below fork_position, then its own. The parent row
            -- outlives every fork that references it (soft delete), so the id always resolves.
            fork_parent_id           INTEGER,
            fork_position            INTEGER,
            -- The Stream-Fork-Sub-Offset the fork was created with (0 when none): an idempotent
            -- re-create must name the same one, and the materialised prefix is already among the
            -- fork's own records, so nothing else depends on it.
            fork_sub_offset          INTEGER,
            -- Cluster mode: the fork's source by name, read through the source's owner wherever it
            -- lives (fork_parent_id is then NULL: nothing local is referenced). NULL for a local fork.
            fork_parent_name         TEXT,
            -- Deleted while forks still read through it: kept, but invisible to clients.
            soft_deleted             INTEGER NOT NULL DEFAULT 0,
            -- 1 when the row was written from a manifest rather than by local appends.
            restored                 INTEGER NOT NULL DEFAULT 0,
            -- Producer states and Stream-Seq as of uploaded_through: what the last manifest said.
            published_producers      TEXT,
            published_stream_seq     TEXT,
            published_closed         INTEGER NOT NULL DEFAULT 0,
            -- 1 when the last published manifest says drained_clean: a drain need not republish it.
            published_clean          INTEGER NOT NULL DEFAULT 0,
            -- 0 for a stream taken over from a manifest, or whose last manifest from this node was
            -- marked cleanly drained, until this node has published a manifest of its own (marked not
            -- cleanly drained) — which it does before acknowledging any append.
            ownership_claimed        INTEGER NOT NULL DEFAULT 1,
            -- Bumped by every committed compaction (a change of the segment list that adds no record);
            -- the last manifest published lists the layout of published_layout_version.
            layout_version           INTEGER NOT NULL DEFAULT 0,
            published_layout_version INTEGER NOT NULL DEFAULT 0
        );

        -- Segment objects (and their local files) to delete once no reader can need them:
        --  * replaced by a compaction (layout_version set): released when a manifest of that layout
        --    version or later is published (released_at_ms), then kept for the deletion grace;
        --  * written by a compaction not yet committed (layout_version NULL, released_at_ms = when
        --    the compaction began): the commit removes the row; after a crash or an abort the objects
        --    are never listed by any manifest and go after the grace.
        -- Keyed by name, not stream id: the rows outlive an evicted stream's local rows.
        CREATE TABLE IF NOT EXISTS object_deletions (
            stream_name    TEXT    NOT NULL,
            object_name    TEXT    NOT NULL,
            stream_id      INTEGER NOT NULL,
            layout_version INTEGER,
            released_at_ms INTEGER,
            PRIMARY KEY (stream_name, object_name)
        ) WITHOUT ROWID;

        -- This data directory's writer id, written into every manifest it publishes, so that after a
        -- crash between a manifest PUT and its local commit the node recognises its own publish in
        -- the store rather than taking it for another owner's (docs/adr/0009-fencing-manifest-writes.md).
        CREATE TABLE IF NOT EXISTS writer_identity (writer_id TEXT NOT NULL);

        -- The version (ETag) of each stream's manifest object as this node last read or wrote it:
        -- the next publish is a compare-and-swap against it. Keyed by name, not incarnation: it
        -- describes the object at the name's key, tombstones included. No row: expect no object.
        CREATE TABLE IF NOT EXISTS manifest_versions (
            name       TEXT    PRIMARY KEY,
            generation INTEGER NOT NULL,
            version    TEXT    NOT NULL
        ) WITHOUT ROWID;

        -- A deleted stream whose tombstone manifest is not yet published.
        CREATE TABLE IF NOT EXISTS tombstones (
            name       TEXT    PRIMARY KEY,
            generation INTEGER NOT NULL
        );

        CREATE TABLE IF NOT EXISTS stream_epochs (
            stream_id      INTEGER NOT NULL,
            epoch          INTEGER NOT NULL,
            start_position INTEGER NOT NULL,
            PRIMARY KEY (stream_id, epoch)
        ) WITHOUT ROWID;

        -- Records not yet sealed into a segment (and sealed ones until their manifest is published).
        CREATE TABLE IF NOT EXISTS wal (
            stream_id    INTEGER NOT NULL,
            position     INTEGER NOT NULL,
            timestamp_ms INTEGER NOT NULL,
            payload      BLOB    NOT NULL,
            -- Set on the last record of an append: the producer and Stream-Seq it advanced, so a
            -- manifest can state producer dedupe exactly as of the records it publishes.
            producer_id    TEXT,
            producer_epoch INTEGER,
            producer_seq   INTEGER,
            stream_seq     TEXT,
            PRIMARY KEY (stream_id, position)
        );

        -- Appends that produced more than one record (a flattened JSON array), so that a fork's
        -- Stream-Fork-Sub-Offset can count messages within "the next append" after the fork offset.
        -- Single-record appends (every non-JSON append) need no row. Kept after sealing: segment
        -- files store records, not append boundaries.
        CREATE TABLE IF NOT EXISTS append_batches (
            stream_id      INTEGER NOT NULL,
            first_position INTEGER NOT NULL,
            record_count   INTEGER NOT NULL,
            PRIMARY KEY (stream_id, first_position)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS producers (
            stream_id   INTEGER NOT NULL,
            producer_id TEXT    NOT NULL,
            epoch       INTEGER NOT NULL,
            last_seq    INTEGER NOT NULL,
            PRIMARY KEY (stream_id, producer_id)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS segments (
            stream_id      INTEGER NOT NULL,
            segment_index  INTEGER NOT NULL,
            first_position INTEGER NOT NULL,
            record_count   INTEGER NOT NULL,
            byte_size      INTEGER NOT NULL,
            checksum       TEXT    NOT NULL,
            uploaded       INTEGER NOT NULL DEFAULT 0,
            -- JSON: the last (epoch, seq) of each producer among this segment's records.
            producer_updates TEXT,
            last_stream_seq  TEXT,
            -- The segment's object name under streams/<h>/segments/ (and its local file name), chosen
            -- when it was sealed and unique to this seal, so a re-upload after a crash puts the same key.
            -- NULL: a segment known by its format-1 name, <segment_index:D16>.seg.
            object_name      TEXT,
            PRIMARY KEY (stream_id, segment_index)
        ) WITHOUT ROWID;
        """;

    /// <summary>
    /// Statements that bring a file of an older version up to this one, by the version they lead to.
    /// Each is applied once, in order, in the same transaction as the new version number.
    /// </summary>
    public static readonly IReadOnlyList<(int Version, string Sql)> Migrations =
    [
        (2, "ALTER TABLE segments ADD COLUMN object_name TEXT;"),
        (3, """
            ALTER TABLE streams ADD COLUMN layout_version INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE streams ADD COLUMN published_layout_version INTEGER NOT NULL DEFAULT 0;
            """),
        (4, "ALTER TABLE streams ADD COLUMN fork_parent_name TEXT;"),
    ];
}
