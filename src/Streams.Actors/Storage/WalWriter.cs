using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Streams.Actors.Storage;

/// <summary>
/// Owns the only write connection to the local index and commits the operations of many streams
/// in one transaction (group commit): one fsync pays for every append waiting at that moment.
/// An operation's task completes only after the transaction holding it is durable, so callers
/// acknowledge nothing that a crash could take back.
/// </summary>
public sealed class WalWriter : IAsyncDisposable
{
    private readonly Channel<WalOperation> queue;
    private readonly SqliteConnection connection;
    private readonly Dictionary<string, SqliteCommand> preparedCommands = new(StringComparer.Ordinal);
    private readonly Thread loop;
    private readonly int maxOperationsPerCommit;

    public WalWriter(StreamDatabase database, int maxOperationsPerCommit)
    {
        this.maxOperationsPerCommit = maxOperationsPerCommit;
        connection = new SqliteConnection(database.WriteConnectionString);
        connection.Open();
        // FULL: the commit's fsync covers the WAL file too, so an acknowledged append survives
        // power loss, not only a process crash.
        StreamDatabase.Execute(connection, "PRAGMA synchronous=FULL;");
        StreamDatabase.Execute(connection, "PRAGMA journal_mode=WAL;");
        queue = Channel.CreateUnbounded<WalOperation>(new UnboundedChannelOptions { SingleReader = true });
        // A dedicated thread: SQLite calls are synchronous and must never run on actor or pool threads.
        loop = new Thread(Run) { IsBackground = true, Name = "wal-writer" };
        loop.Start();
    }

    /// <summary>Number of transactions committed; tests use it to observe group commit.</summary>
    public long CommitCount => Interlocked.Read(ref commitCount);

    private long commitCount;

    /// <summary>Queues an operation; the task completes after its transaction committed.</summary>
    public Task<T> Submit<T>(WalOperation<T> operation)
    {
        if (!queue.Writer.TryWrite(operation))
        {
            operation.Fail(new ObjectDisposedException(nameof(WalWriter)));
        }

        return operation.Completion;
    }

    private void Run()
    {
        var batch = new List<WalOperation>(maxOperationsPerCommit);
        while (queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            while (batch.Count < maxOperationsPerCommit && queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
            }

            if (batch.Count > 0)
            {
                CommitBatch(batch);
            }
        }
    }

    private void CommitBatch(List<WalOperation> batch)
    {
        var failed = new Exception?[batch.Count];
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            using var transaction = connection.BeginTransaction();
            for (var i = 0; i < batch.Count; i++)
            {
                // A savepoint per operation: one faulty operation is undone alone and the rest of
                // the group still commits.
                StreamDatabase.Execute(connection, "SAVEPOINT operation");
                try
                {
                    batch[i].Apply(new WalSession(this, transaction));
                    StreamDatabase.Execute(connection, "RELEASE operation");
                }
                catch (Exception exception) when (exception is SqliteException or InvalidOperationException or ArgumentException)
                {
                    StreamDatabase.Execute(connection, "ROLLBACK TO operation");
                    StreamDatabase.Execute(connection, "RELEASE operation");
                    failed[i] = exception;
                }
            }

            transaction.Commit();
            Interlocked.Increment(ref commitCount);
            Telemetry.StreamsMetrics.WalCommitted(batch.Count, started);
        }
        catch (Exception exception)
        {
            // The commit itself failed (I/O, disk full): nothing in this group is durable.
            foreach (var operation in batch)
            {
                operation.Fail(exception);
            }

            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (failed[i] is { } exception)
            {
                batch[i].Fail(exception);
            }
            else
            {
                batch[i].Complete();
            }
        }
    }

    internal SqliteCommand Prepare(string sql, SqliteTransaction transaction)
    {
        if (!preparedCommands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            preparedCommands[sql] = command;
        }

        command.Transaction = transaction;
        command.Parameters.Clear();
        return command;
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await Task.Run(() => loop.Join());
        foreach (var command in preparedCommands.Values)
        {
            command.Dispose();
        }

        await connection.DisposeAsync();
    }
}

/// <summary>What an operation may use while it runs inside the group transaction.</summary>
public readonly struct WalSession
{
    private readonly WalWriter writer;
    private readonly SqliteTransaction transaction;

    internal WalSession(WalWriter writer, SqliteTransaction transaction)
    {
        this.writer = writer;
        this.transaction = transaction;
    }

    public SqliteCommand Command(string sql) => writer.Prepare(sql, transaction);

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteNonQuery();
    }

    public object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command.ExecuteScalar();
    }
}

/// <summary>A unit of work for the writer thread.</summary>
public abstract class WalOperation
{
    internal abstract void Apply(WalSession session);

    internal abstract void Complete();

    internal abstract void Fail(Exception exception);
}

/// <summary>An operation whose result is delivered after the commit.</summary>
public abstract class WalOperation<T> : WalOperation
{
    private readonly TaskCompletionSource<T> completion =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    private T? result;

    public Task<T> Completion => completion.Task;

    internal sealed override void Apply(WalSession session) => result = Execute(session);

    protected abstract T Execute(WalSession session);

    internal sealed override void Complete() => completion.TrySetResult(result!);

    internal sealed override void Fail(Exception exception) => completion.TrySetException(exception);
}
