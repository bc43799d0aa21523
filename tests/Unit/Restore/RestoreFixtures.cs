using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Streams.Actors.Domain;
using Streams.Actors.Storage;
using Streams.Tests.Unit.TestSupport;

namespace Streams.Tests.Unit.Restore;

/// <summary>Writes streams on a node through the WAL operations a stream owner uses.</summary>
internal static class StreamWrites
{
    private const long TimestampMs = 1_750_000_000_000;

    public static async Task<long> CreateAsync(
        StreamTestNode node,
        string name,
        int records,
        string contentType = ContentTypes.Default,
        long? ttlSeconds = null)
    {
        var row = new StreamRow
        {
            Name = name,
            ContentType = contentType,
            CreatedAtMs = TimestampMs,
            TtlSeconds = ttlSeconds,
            LastAccessMs = TimestampMs,
        };
        return await node.WalWriter.Submit(new CreateStreamOperation(row, Records(name, 0, records), TimestampMs));
    }

    public static Task AppendAsync(
        StreamTestNode node,
        long streamId,
        string name,
        long firstPosition,
        int records,
        ProducerState? producer = null,
        string? streamSeq = null,
        ProducerClaim? closeBy = null,
        bool close = false) =>
        node.WalWriter.Submit(new AppendOperation(
            streamId,
            firstPosition,
            Records(name, firstPosition, records),
            TimestampMs,
            close,
            closeBy,
            streamSeq,
            producer));

    public static List<byte[]> Records(string name, long firstPosition, int count) =>
        [.. Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes($"{{\"stream\":\"{name}\",\"at\":{firstPosition + i}}}"))];
}

/// <summary>
/// A node's local index as text, one line per row, keyed by stream name instead of the local
/// stream id (which differs between nodes), so two nodes' rows can be compared for equality.
/// </summary>
internal static class IndexDump
{
    private static readonly string[] ChildTables = ["stream_epochs", "producers", "segments", "wal"];

    public static List<string> Rows(StreamTestNode node) => Rows(node.Database.Path);

    /// <summary>The rows of the index file at <paramref name="databasePath"/> (a server process's, say).</summary>
    public static List<string> Rows(string databasePath)
    {
        var builder = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        using var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        var lines = Dump(connection, "SELECT * FROM streams", "streams");
        foreach (var table in ChildTables)
        {
            lines.AddRange(Dump(connection, $"SELECT s.name AS stream_name, t.* FROM {table} t JOIN streams s ON s.stream_id = t.stream_id", table));
        }

        lines.AddRange(Dump(connection, "SELECT * FROM tombstones", "tombstones"));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static List<string> Dump(SqliteConnection connection, string sql, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            var fields = new List<string>();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                if (reader.GetName(i) == "stream_id")
                {
                    continue;
                }

                var value = reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
                fields.Add($"{reader.GetName(i)}={value}");
            }

            lines.Add($"{table}: {string.Join(", ", fields)}");
        }

        return lines;
    }
}

/// <summary>Keeps what was logged, for tests of log output meant for operators.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<string> lines = [];
    private readonly Lock linesLock = new();

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (linesLock)
            {
                return [.. lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (linesLock)
        {
            lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
