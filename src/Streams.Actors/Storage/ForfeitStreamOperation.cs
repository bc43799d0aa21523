namespace Streams.Actors.Storage;

/// <summary>
/// Another node has taken the stream over (its manifest in the store is not this node's): drop
/// the stream's local rows — unpublished WAL rows included, since their offsets now belong to the
/// new owner's history — so that the next touch restores the new owner's manifest, and forget the
/// deletion of objects an unpublished compaction replaced (the new owner may still list them). Yields false,
/// changing nothing, while a local fork still reads through the stream (its rows serve the fork;
/// it is not published again by this process, see <see cref="ManifestPublisher"/>).
/// </summary>
public sealed class ForfeitStreamOperation(long streamId, string name) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        if (session.Scalar("SELECT 1 FROM streams fork WHERE fork.fork_parent_id = $id", ("$id", streamId)) is not null)
        {
            return false;
        }

        session.Execute("DELETE FROM wal WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM append_batches WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM producers WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM stream_epochs WHERE stream_id = $id", ("$id", streamId));
        session.Execute("DELETE FROM segments WHERE stream_id = $id", ("$id", streamId));
        // Objects a compaction replaced in a layout this node never published: the new owner took
        // over from a manifest that may list them, so they are not this node's to delete. (Deleting
        // them with the stream is right only for a stream deleted here.) Its merged objects stay too,
        // unlisted: leaking them is the safe side, since the new owner may have restored a manifest
        // this node put but never recorded.
        session.Execute("DELETE FROM object_deletions WHERE stream_id = $id AND released_at_ms IS NULL", ("$id", streamId));
        // The version this node knew is not the store's any more; the restore records the new one.
        session.Execute("DELETE FROM manifest_versions WHERE name = $name", ("$name", name));
        return session.Execute("DELETE FROM streams WHERE stream_id = $id", ("$id", streamId)) == 1;
    }
}

/// <summary>
/// A pending tombstone whose name another node owns now: forget it without publishing, so this
/// node neither writes over that node's manifest nor deletes its segments.
/// </summary>
public sealed class DropTombstoneOperation(string name, long generation) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        session.Execute("DELETE FROM manifest_versions WHERE name = $name", ("$name", name));
        return session.Execute(
            "DELETE FROM tombstones WHERE name = $name AND generation = $generation",
            ("$name", name),
            ("$generation", generation)) == 1;
    }
}
