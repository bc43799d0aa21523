namespace Streams.Actors.Storage;

/// <summary>
/// Before a compaction puts its merged segments: record their names as objects to delete after the
/// grace unless the compaction commits. A crash (or an abort) between the puts and the commit then
/// leaves no object behind for good, and no listing of the bucket is needed to find them.
/// </summary>
public sealed class CompactionStartedOperation(long streamId, string streamName, IReadOnlyList<string> outputNames, long startedAtMs)
    : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        foreach (var objectName in outputNames)
        {
            session.Execute(
                """
                INSERT INTO object_deletions (stream_name, object_name, stream_id, layout_version, released_at_ms)
                VALUES ($name, $object, $id, NULL, $at) ON CONFLICT DO NOTHING
                """,
                ("$name", streamName),
                ("$object", objectName),
                ("$id", streamId),
                ("$at", startedAtMs));
        }

        return true;
    }
}

/// <summary>
/// The local commit of a compaction: the merged segments (already in the object store) take the
/// place of the segments they replace, in one transaction that also bumps the stream's layout
/// version (so the uploader publishes the new list), keeps the merged objects (their pending
/// deletion goes) and queues the replaced objects for deletion once a manifest no longer lists them.
/// Yields false, changing nothing, when the replaced rows are no longer exactly as planned (the
/// stream was deleted, evicted or changed meanwhile) or this node gave the stream's ownership up.
/// </summary>
public sealed class CompactSegmentsOperation(
    long streamId,
    string streamName,
    IReadOnlyList<SegmentRow> replaced,
    IReadOnlyList<SegmentRow> merged) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        foreach (var segment in replaced)
        {
            var unchanged = session.Scalar(
                """
                SELECT 1 FROM segments
                WHERE stream_id = $id AND segment_index = $index AND first_position = $first AND record_count = $count
                  AND checksum = $checksum AND uploaded = 1 AND object_name IS $objectName
                """,
                ("$id", streamId),
                ("$index", segment.Index),
                ("$first", segment.FirstPosition),
                ("$count", segment.RecordCount),
                ("$checksum", segment.Checksum),
                ("$objectName", segment.ObjectName));
            if (unchanged is null)
            {
                return false;
            }
        }

        // Only while this node owns the stream: a clean publish (a drain, a hand-off) gives ownership
        // up, and a layout committed after it would be published by nobody — the next owner restores
        // the list that publish wrote — while it kept the stream's rows from being evicted.
        var layoutVersion = session.Scalar(
            "UPDATE streams SET layout_version = layout_version + 1 WHERE stream_id = $id AND ownership_claimed = 1 RETURNING layout_version",
            ("$id", streamId)) as long?;
        if (layoutVersion is null)
        {
            return false;
        }

        foreach (var segment in replaced)
        {
            session.Execute(
                "DELETE FROM segments WHERE stream_id = $id AND segment_index = $index",
                ("$id", streamId),
                ("$index", segment.Index));
            // Released only when a manifest of this layout version is published: until then the
            // manifest in the store still lists the object.
            session.Execute(
                """
                INSERT INTO object_deletions (stream_name, object_name, stream_id, layout_version, released_at_ms)
                VALUES ($name, $object, $id, $layout, NULL)
                ON CONFLICT DO UPDATE SET layout_version = excluded.layout_version, released_at_ms = NULL
                """,
                ("$name", streamName),
                ("$object", segment.StoredName),
                ("$id", streamId),
                ("$layout", layoutVersion));
        }

        foreach (var segment in merged)
        {
            SegmentsTable.Insert(session, streamId, segment);
            session.Execute(
                "DELETE FROM object_deletions WHERE stream_name = $name AND object_name = $object",
                ("$name", streamName),
                ("$object", segment.StoredName));
        }

        return true;
    }
}

/// <summary>
/// Part of the local commit of a publish (see <see cref="ManifestPublishedOperation"/>): the manifest
/// just published lists the layout of <paramref name="layoutVersion"/>, so the objects replaced up to
/// that layout are listed by no manifest from now on; the deletion grace starts at
/// <paramref name="publishedAtMs"/>.
/// </summary>
internal static class LayoutPublished
{
    public static void Record(WalSession session, long streamId, long layoutVersion, long publishedAtMs)
    {
        session.Execute(
            "UPDATE streams SET published_layout_version = MAX(published_layout_version, $layout) WHERE stream_id = $id",
            ("$layout", layoutVersion),
            ("$id", streamId));
        session.Execute(
            """
            UPDATE object_deletions SET released_at_ms = $at
            WHERE stream_id = $id AND layout_version IS NOT NULL AND layout_version <= $layout AND released_at_ms IS NULL
            """,
            ("$at", publishedAtMs),
            ("$id", streamId),
            ("$layout", layoutVersion));
    }
}

/// <summary>The objects were deleted from the store (and their local files): forget them.</summary>
public sealed class ObjectsDeletedOperation(IReadOnlyList<ObjectDeletion> deleted) : WalOperation<int>
{
    protected override int Execute(WalSession session)
    {
        var removed = 0;
        foreach (var deletion in deleted)
        {
            removed += session.Execute(
                "DELETE FROM object_deletions WHERE stream_name = $name AND object_name = $object",
                ("$name", deletion.StreamName),
                ("$object", deletion.ObjectName));
        }

        return removed;
    }
}

/// <summary>A segment object (and local file) due for deletion.</summary>
public sealed record ObjectDeletion(string StreamName, string ObjectName);
