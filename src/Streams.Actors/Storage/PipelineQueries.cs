using Microsoft.Data.Sqlite;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Storage;

/// <summary>Read-side queries of the seal → upload → publish pipeline.</summary>
public sealed partial class PipelineQueries(StreamDatabase database)
{
    public StreamDatabase Database => database;

    /// <summary>Every stream with unsealed records, with the size and age of what is waiting.</summary>
    public List<SealCandidate> FindSealCandidates()
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT s.stream_id, s.name, s.sealed_through, s.next_position,
                   COUNT(w.position), COALESCE(SUM(length(w.payload)), 0), COALESCE(MIN(w.timestamp_ms), 0)
            FROM streams s
            JOIN wal w ON w.stream_id = s.stream_id AND w.position >= s.sealed_through
            WHERE s.next_position > s.sealed_through
            GROUP BY s.stream_id
            """;
        using var reader = command.ExecuteReader();
        var candidates = new List<SealCandidate>();
        while (reader.Read())
        {
            candidates.Add(new SealCandidate(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetInt64(2),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.GetInt64(6)));
        }

        return candidates;
    }

    /// <summary>Contiguous WAL rows from <paramref name="fromPosition"/>, bounded by count and bytes.</summary>
    public List<WalRow> ReadRowsToSeal(long streamId, long fromPosition, int maxRows, long maxBytes)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT position, timestamp_ms, payload, producer_id, producer_epoch, producer_seq, stream_seq
            FROM wal WHERE stream_id = $id AND position >= $from ORDER BY position LIMIT $limit
            """;
        command.Parameters.AddWithValue("$id", streamId);
        command.Parameters.AddWithValue("$from", fromPosition);
        command.Parameters.AddWithValue("$limit", maxRows);
        using var reader = command.ExecuteReader();
        var rows = new List<WalRow>();
        long bytes = 0;
        var expected = fromPosition;
        while (reader.Read())
        {
            var position = reader.GetInt64(0);
            var payload = (byte[])reader.GetValue(2);
            // Stop at a gap (never expected) or once the byte budget is used: a segment is contiguous.
            if (position != expected || (rows.Count > 0 && bytes + payload.Length > maxBytes))
            {
                break;
            }

            var producer = reader.IsDBNull(3)
                ? null
                : new ProducerState(reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5));
            rows.Add(new WalRow(position, reader.GetInt64(1), payload, producer, reader.IsDBNull(6) ? null : reader.GetString(6)));
            bytes += payload.Length;
            expected++;
        }

        return rows;
    }

    /// <summary>The segment holding <paramref name="position"/>, if the position is sealed.</summary>
    public SegmentRow? FindSegmentCovering(long streamId, long position)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            {SegmentColumns} WHERE stream_id = $id AND first_position <= $position
            ORDER BY first_position DESC LIMIT 1
            """;
        command.Parameters.AddWithValue("$id", streamId);
        command.Parameters.AddWithValue("$position", position);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var segment = ReadSegment(reader);
        return position < segment.EndPosition ? segment : null;
    }

    /// <summary>Uploaded segments (stream, stored name, size), so their local files can be managed by the cache after a restart.</summary>
    public List<(string Name, string StoredName, long Size)> UploadedSegments() =>
        [.. LocalSegments().Where(segment => segment.Uploaded).Select(segment => (segment.Name, segment.StoredName, segment.Size))];

    /// <summary>Every segment of every local stream: what the local segment directory may hold.</summary>
    public List<(string Name, string StoredName, long Size, bool Uploaded)> LocalSegments()
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT s.name, g.segment_index, g.object_name, g.byte_size, g.uploaded FROM segments g
            JOIN streams s ON s.stream_id = g.stream_id
            """;
        using var reader = command.ExecuteReader();
        var segments = new List<(string, string, long, bool)>();
        while (reader.Read())
        {
            var storedName = reader.IsDBNull(2) ? ObjectStoreKeys.LegacySegmentObjectName(reader.GetInt64(1)) : reader.GetString(2);
            segments.Add((reader.GetString(0), storedName, reader.GetInt64(3), reader.GetInt64(4) != 0));
        }

        return segments;
    }

    /// <summary>What <c>_details</c> shows about a stream's pipeline.</summary>
    public StreamDetails? LoadDetails(long streamId)
    {
        using var connection = database.OpenRead();
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT s.next_position, s.sealed_through, s.uploaded_through, s.manifest_generation,
                   s.last_upload_at_ms, s.last_upload_error,
                   (SELECT COUNT(*) FROM segments g WHERE g.stream_id = s.stream_id),
                   (SELECT COUNT(*) FROM segments g WHERE g.stream_id = s.stream_id AND g.uploaded = 1),
                   (SELECT COUNT(*) FROM wal w WHERE w.stream_id = s.stream_id AND w.position >= s.uploaded_through),
                   (SELECT COALESCE(SUM(length(w.payload)), 0) FROM wal w WHERE w.stream_id = s.stream_id AND w.position >= s.uploaded_through),
                   s.restored
            FROM streams s WHERE s.stream_id = $id
            """;
        command.Parameters.AddWithValue("$id", streamId);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        return new StreamDetails(
            reader.GetInt64(0),
            reader.GetInt64(1),
            reader.GetInt64(2),
            reader.GetInt64(3),
            reader.IsDBNull(4) ? null : reader.GetInt64(4),
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.GetInt64(6),
            reader.GetInt64(7),
            reader.GetInt64(8),
            reader.GetInt64(9),
            reader.GetInt64(10) != 0);
    }

    /// <summary>The index the next segment of a stream gets.</summary>
    public long NextSegmentIndex(long streamId)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(segment_index) + 1, 0) FROM segments WHERE stream_id = $id";
        command.Parameters.AddWithValue("$id", streamId);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Streams whose remote state is behind the local one, oldest work first.</summary>
    public List<long> FindStreamsToPublish(bool includeFullyPublished)
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        // Behind: never published, a sealed segment not yet uploaded, or a closure not yet published.
        // A drain also republishes streams whose tail is complete, to mark them cleanly drained, and
        // sliding-TTL streams read since their manifest: the next owner takes their last activity
        // from the manifest's time.
        command.CommandText = $"""
            SELECT stream_id FROM streams
            WHERE (last_upload_at_ms IS NULL AND restored = 0)
               OR uploaded_through < sealed_through
               OR (closed = 1 AND published_closed = 0 AND sealed_through = next_position)
               OR layout_version > published_layout_version
               OR ({(includeFullyPublished ? "1" : "0")} AND
                   (published_clean = 0 OR (ttl_seconds IS NOT NULL AND last_access_ms > last_upload_at_ms)))
            ORDER BY COALESCE(last_upload_at_ms, 0), stream_id
            """;
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    public PublishSnapshot? LoadPublishSnapshot(long streamId)
    {
        using var connection = database.OpenRead();
        // One read transaction: the row, segments and producers are of the same committed moment.
        using var transaction = connection.BeginTransaction(deferred: true);
        var row = database.LoadStream(connection, streamId);
        if (row is null)
        {
            return null;
        }

        using var command = connection.CreateCommand();
        command.CommandText = $"{SegmentColumns} WHERE stream_id = $id ORDER BY segment_index";
        command.Parameters.AddWithValue("$id", streamId);
        var segments = new List<SegmentRow>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                segments.Add(ReadSegment(reader));
            }
        }

        using var published = connection.CreateCommand();
        published.CommandText = "SELECT published_producers, published_stream_seq, published_closed, layout_version, published_layout_version FROM streams WHERE stream_id = $id";
        published.Parameters.AddWithValue("$id", streamId);
        using var publishedReader = published.ExecuteReader();
        publishedReader.Read();
        return new PublishSnapshot(
            row,
            segments,
            ProducerJson.Deserialize(publishedReader.IsDBNull(0) ? null : publishedReader.GetString(0)),
            publishedReader.IsDBNull(1) ? null : publishedReader.GetString(1),
            publishedReader.GetInt64(2) != 0)
        {
            LayoutVersion = publishedReader.GetInt64(3),
            PublishedLayoutVersion = publishedReader.GetInt64(4),
        };
    }

    public List<PendingTombstone> PendingTombstones()
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, generation FROM tombstones ORDER BY name";
        using var reader = command.ExecuteReader();
        var tombstones = new List<PendingTombstone>();
        while (reader.Read())
        {
            tombstones.Add(new PendingTombstone(reader.GetString(0), reader.GetInt64(1)));
        }

        return tombstones;
    }

    /// <summary>Payload bytes in the WAL not yet covered by a published manifest: the upload backlog.</summary>
    public long UnpublishedBytes()
    {
        using var connection = database.OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT COALESCE(SUM(length(w.payload)), 0) FROM wal w
            JOIN streams s ON s.stream_id = w.stream_id AND w.position >= s.uploaded_through
            """;
        return (long)command.ExecuteScalar()!;
    }

    internal const string SegmentColumns = """
        SELECT stream_id, segment_index, first_position, record_count, byte_size, checksum, uploaded,
               producer_updates, last_stream_seq, object_name
        FROM segments
        """;

    internal static SegmentRow ReadSegment(SqliteDataReader reader) =>
        new(
            reader.GetInt64(0),
            reader.GetInt64(1),
            reader.GetInt64(2),
            reader.GetInt64(3),
            reader.GetInt64(4),
            reader.GetString(5),
            reader.GetInt64(6) != 0,
            ProducerJson.Deserialize(reader.IsDBNull(7) ? null : reader.GetString(7)),
            reader.IsDBNull(8) ? null : reader.GetString(8),
            reader.IsDBNull(9) ? null : reader.GetString(9));
}
