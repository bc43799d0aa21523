namespace Streams.Actors.Storage;

/// <summary>A stream with at least two uploaded segments small enough to merge.</summary>
public sealed record CompactionCandidate(long StreamId, string Name, long SealedThrough);

/// <summary>Read-side queries of compaction and of the deletion of replaced objects.</summary>
public sealed partial class PipelineQueries
{
    /// <summary>
    /// Streams this node writes (ownership claimed) holding at least two uploaded segments below half
    /// of a target (rows and bytes): the only ones a compaction could shorten. A stream merely restored
    /// here for reading is never compacted: only its writer may publish its manifest.
    /// </summary>
    public List<CompactionCandidate> FindCompactionCandidates(int targetRows, long targetBytes)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT s.stream_id, s.name, s.sealed_through FROM streams s
            WHERE s.ownership_claimed = 1 AND (SELECT COUNT(*) FROM segments g
                   WHERE g.stream_id = s.stream_id AND g.uploaded = 1
                     AND g.record_count * 2 < $rows AND g.byte_size * 2 < $bytes) >= 2
            ORDER BY s.stream_id
            """;
        command.Parameters.AddWithValue("$rows", targetRows);
        command.Parameters.AddWithValue("$bytes", targetBytes);
        using var reader = command.ExecuteReader();
        var candidates = new List<CompactionCandidate>();
        while (reader.Read())
        {
            candidates.Add(new CompactionCandidate(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return candidates;
    }

    /// <summary>A stream's segments in index order (which is position order).</summary>
    public List<SegmentRow> LoadSegments(long streamId)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = $"{SegmentColumns} WHERE stream_id = $id ORDER BY segment_index";
        command.Parameters.AddWithValue("$id", streamId);
        using var reader = command.ExecuteReader();
        var segments = new List<SegmentRow>();
        while (reader.Read())
        {
            segments.Add(ReadSegment(reader));
        }

        return segments;
    }

    /// <summary>
    /// Objects whose deletion is due: released (no longer listed by a published manifest, or written
    /// by a compaction that never committed) at or before <paramref name="releasedBeforeMs"/>, or
    /// replaced in a stream that no longer exists here before its new layout was published (deleted:
    /// nothing lists the object any more).
    /// </summary>
    public List<ObjectDeletion> DueDeletions(long releasedBeforeMs, int limit)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT d.stream_name, d.object_name FROM object_deletions d
            WHERE d.released_at_ms <= $cutoff
               OR (d.released_at_ms IS NULL AND NOT EXISTS (SELECT 1 FROM streams s WHERE s.stream_id = d.stream_id))
            ORDER BY d.released_at_ms LIMIT $limit
            """;
        command.Parameters.AddWithValue("$cutoff", releasedBeforeMs);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var due = new List<ObjectDeletion>();
        while (reader.Read())
        {
            due.Add(new ObjectDeletion(reader.GetString(0), reader.GetString(1)));
        }

        return due;
    }

    /// <summary>Names of the stream's objects waiting for deletion, released or not.</summary>
    public List<string> PendingDeletionNames(string streamName)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT object_name FROM object_deletions WHERE stream_name = $name";
        command.Parameters.AddWithValue("$name", streamName);
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>Objects waiting for deletion, released or not (for <c>_details</c> and tests).</summary>
    public long PendingDeletions(string streamName)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM object_deletions WHERE stream_name = $name";
        command.Parameters.AddWithValue("$name", streamName);
        return (long)command.ExecuteScalar()!;
    }
}
