using Microsoft.Data.Sqlite;
using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>
/// The SQLite file behind the local index. Writes go only through <see cref="WalWriter"/>, which
/// owns the one write connection; reads open pooled connections of their own, so readers never
/// wait for a group commit (WAL mode lets them see the last committed state).
/// </summary>
public sealed class StreamDatabase
{
    public const string FileName = "streams.db";

    private readonly string readConnectionString;

    public StreamDatabase(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        DataDirectory = dataDirectory;
        Path = System.IO.Path.Combine(dataDirectory, FileName);
        WriteConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString();
        readConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
        }.ToString();
        Initialize();
    }

    public string DataDirectory { get; }

    public string Path { get; }

    internal string WriteConnectionString { get; }

    internal SqliteConnection OpenRead()
    {
        var connection = new SqliteConnection(readConnectionString);
        connection.Open();
        return connection;
    }

    private void Initialize()
    {
        using var connection = new SqliteConnection(WriteConnectionString);
        connection.Open();
        // WAL: readers proceed while the writer commits; the mode is stored in the file itself.
        Execute(connection, "PRAGMA journal_mode=WAL;");
        using var version = connection.CreateCommand();
        version.CommandText = "SELECT version FROM schema_version LIMIT 1";
        var existing = TableExists(connection, "schema_version") ? version.ExecuteScalar() as long? : null;
        if (existing is { } current && current < Schema.Version)
        {
            Migrate(connection, current);
        }

        // One transaction for the tables, the version row and the writer id: a new data directory
        // costs one synchronous commit at start-up rather than one per statement, and a crash
        // leaves either all of it or nothing.
        using var transaction = connection.BeginTransaction();
        Execute(connection, Schema.Create, transaction);
        if (existing is null)
        {
            Execute(connection, $"INSERT INTO schema_version (version) VALUES ({Schema.Version})", transaction);
        }

        WriterId = LoadOrCreateWriterId(connection, transaction);
        transaction.Commit();
    }

    /// <summary>
    /// A random id made once per data directory and written into every manifest this node
    /// publishes. It survives restarts on the same disk (unlike a process id), which is what lets a
    /// restarted node recognise a manifest it put just before crashing.
    /// </summary>
    public string WriterId { get; private set; } = "";

    private static string LoadOrCreateWriterId(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT writer_id FROM writer_identity LIMIT 1";
        if (select.ExecuteScalar() is string existing)
        {
            return existing;
        }

        var created = Guid.NewGuid().ToString("N");
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO writer_identity (writer_id) VALUES ($id)";
        insert.Parameters.AddWithValue("$id", created);
        insert.ExecuteNonQuery();
        return created;
    }

    /// <summary>The version of the stream's manifest object as last read or written here; null when none is known.</summary>
    public ManifestVersion? LoadManifestVersion(string name)
    {
        using var connection = OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT generation, version FROM manifest_versions WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new ManifestVersion(reader.GetInt64(0), reader.GetString(1)) : null;
    }

    /// <summary>Applies the migrations above <paramref name="current"/> and the new version number atomically.</summary>
    private static void Migrate(SqliteConnection connection, long current)
    {
        using var transaction = connection.BeginTransaction();
        foreach (var (target, sql) in Schema.Migrations.Where(migration => migration.Version > current))
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = $"UPDATE schema_version SET version = {Schema.Version}";
        update.ExecuteNonQuery();
        transaction.Commit();
    }

    private static bool TableExists(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $name";
        command.Parameters.AddWithValue("$name", table);
        return command.ExecuteScalar() is not null;
    }

    internal static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The stream's row, epochs and producers; null when there is no such stream here.</summary>
    public StreamRow? LoadStream(string name)
    {
        using var connection = OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = $"{StreamColumns} WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        return LoadFirst(connection, command);
    }

    public StreamRow? LoadStream(long streamId)
    {
        using var connection = OpenRead();
        return LoadStream(connection, streamId);
    }

    internal StreamRow? LoadStream(SqliteConnection connection, long streamId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"{StreamColumns} WHERE stream_id = $id";
        command.Parameters.AddWithValue("$id", streamId);
        return LoadFirst(connection, command);
    }

    /// <summary>Every stream name, in name order, after <paramref name="after"/>.</summary>
    public IReadOnlyList<string> ListStreamNames(string? after, int limit)
    {
        using var connection = OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM streams WHERE soft_deleted = 0 AND name > $after ORDER BY name LIMIT $limit";
        command.Parameters.AddWithValue("$after", after ?? string.Empty);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>
    /// WAL records of a stream in [<paramref name="fromPosition"/>, <paramref name="toPosition"/>),
    /// stopping once <paramref name="maxBytes"/> of payload are collected (at least one record).
    /// </summary>
    public List<StoredRecord> ReadWal(long streamId, long fromPosition, long toPosition, long maxBytes)
    {
        var records = new List<StoredRecord>();
        if (fromPosition >= toPosition)
        {
            return records;
        }

        using var connection = OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT position, timestamp_ms, payload FROM wal
            WHERE stream_id = $id AND position >= $from AND position < $to
            ORDER BY position
            """;
        command.Parameters.AddWithValue("$id", streamId);
        command.Parameters.AddWithValue("$from", fromPosition);
        command.Parameters.AddWithValue("$to", toPosition);
        using var reader = command.ExecuteReader();
        long bytes = 0;
        while (reader.Read())
        {
            var payload = (byte[])reader.GetValue(2);
            if (records.Count > 0 && bytes + payload.Length > maxBytes)
            {
                break;
            }

            records.Add(new StoredRecord(reader.GetInt64(0), reader.GetInt64(1), payload));
            bytes += payload.Length;
        }

        return records;
    }

    private const string StreamColumns = """
        SELECT stream_id, name, content_type, created_at_ms, ttl_seconds, expires_at_ms, last_access_ms,
               closed, closed_by_producer_id, closed_by_producer_epoch, closed_by_producer_seq,
               last_stream_seq, next_position, sealed_through, uploaded_through, manifest_generation,
               fork_parent_id, fork_position, soft_deleted, restored, fork_sub_offset,
               COALESCE((SELECT parent.name FROM streams parent WHERE parent.stream_id = streams.fork_parent_id),
                        fork_parent_name),
               ownership_claimed
        FROM streams
        """;

    private static StreamRow? LoadFirst(SqliteConnection connection, SqliteCommand command)
    {
        StreamRow row;
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return null;
            }

            row = new StreamRow
            {
                StreamId = reader.GetInt64(0),
                Name = reader.GetString(1),
                ContentType = reader.GetString(2),
                CreatedAtMs = reader.GetInt64(3),
                TtlSeconds = reader.IsDBNull(4) ? null : reader.GetInt64(4),
                ExpiresAtMs = reader.IsDBNull(5) ? null : reader.GetInt64(5),
                LastAccessMs = reader.GetInt64(6),
                Closed = reader.GetInt64(7) != 0,
                ClosedBy = reader.IsDBNull(8)
                    ? null
                    : new ProducerClaim(reader.GetString(8), reader.GetInt64(9), reader.GetInt64(10)),
                LastStreamSeq = reader.IsDBNull(11) ? null : reader.GetString(11),
                NextPosition = reader.GetInt64(12),
                SealedThrough = reader.GetInt64(13),
                UploadedThrough = reader.GetInt64(14),
                ManifestGeneration = reader.GetInt64(15),
                ForkParentId = reader.IsDBNull(16) ? null : reader.GetInt64(16),
                ForkPosition = reader.IsDBNull(17) ? null : reader.GetInt64(17),
                SoftDeleted = reader.GetInt64(18) != 0,
                Restored = reader.GetInt64(19) != 0,
                ForkSubOffset = reader.IsDBNull(20) ? 0 : reader.GetInt64(20),
                ForkParentName = reader.IsDBNull(21) ? null : reader.GetString(21),
                OwnershipClaimed = reader.GetInt64(22) != 0,
            };
        }

        return row with
        {
            Epochs = LoadEpochs(connection, row.StreamId),
            Producers = LoadProducers(connection, row.StreamId),
            Lineage = LoadLineage(connection, row),
        };
    }

    /// <summary>
    /// The append that produced more than one record and covers <paramref name="position"/>, if any:
    /// its first position and record count.
    /// </summary>
    public (long FirstPosition, long RecordCount)? FindAppendBatch(long streamId, long position)
    {
        using var connection = OpenRead();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT first_position, record_count FROM append_batches
            WHERE stream_id = $id AND first_position <= $position
            ORDER BY first_position DESC LIMIT 1
            """;
        command.Parameters.AddWithValue("$id", streamId);
        command.Parameters.AddWithValue("$position", position);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var first = reader.GetInt64(0);
        var count = reader.GetInt64(1);
        return position < first + count ? (first, count) : null;
    }

    /// <summary>Walks the fork parents up to the root; a stream that is not a fork is its own lineage.</summary>
    private static StreamLineage LoadLineage(SqliteConnection connection, StreamRow row)
    {
        if (row.ForkSourceIsRemote)
        {
            return StreamLineage.RemoteFork(row.StreamId, row.Name, row.ForkPosition ?? 0, row.ForkParentName!);
        }

        if (row.ForkParentId is null)
        {
            return StreamLineage.Root(row.StreamId, row.Name);
        }

        var chain = new List<LineageEntry> { new(row.StreamId, row.Name, row.ForkPosition ?? 0) };
        var visited = new HashSet<long> { row.StreamId };
        var parentId = row.ForkParentId;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, fork_parent_id, fork_position FROM streams WHERE stream_id = $id";
        var id = command.Parameters.AddWithValue("$id", 0L);
        while (parentId is { } current)
        {
            // A cycle cannot be created (a fork's parent exists before it), but a damaged index must
            // not hang the owner.
            if (!visited.Add(current))
            {
                throw new InvalidDataException($"the fork chain of stream {row.StreamId} loops at stream {current}");
            }

            id.Value = current;
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                throw new InvalidDataException($"stream {row.StreamId} is forked from stream {current}, which is missing");
            }

            var grandParent = reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1);
            var forkPosition = grandParent is null || reader.IsDBNull(2) ? 0 : reader.GetInt64(2);
            chain.Add(new LineageEntry(current, reader.GetString(0), forkPosition));
            parentId = grandParent;
        }

        return StreamLineage.FromChain(chain);
    }

    private static List<EpochStart> LoadEpochs(SqliteConnection connection, long streamId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT epoch, start_position FROM stream_epochs WHERE stream_id = $id ORDER BY epoch";
        command.Parameters.AddWithValue("$id", streamId);
        using var reader = command.ExecuteReader();
        var epochs = new List<EpochStart>();
        while (reader.Read())
        {
            epochs.Add(new EpochStart(reader.GetInt64(0), reader.GetInt64(1)));
        }

        return epochs;
    }

    private static List<ProducerState> LoadProducers(SqliteConnection connection, long streamId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT producer_id, epoch, last_seq FROM producers WHERE stream_id = $id";
        command.Parameters.AddWithValue("$id", streamId);
        using var reader = command.ExecuteReader();
        var producers = new List<ProducerState>();
        while (reader.Read())
        {
            producers.Add(new ProducerState(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return producers;
    }
}
