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

    private const string SavepointSql = "SAVEPOINT operation";
    private const string ReleaseSql = "RELEASE operation";
    private const string RollbackToSql = "ROLLBACK TO operation";

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

    /// <summary>
    /// Number of transactions committed. Unchanged, it means the index is as it was (every write goes
    /// through this writer): the pipeline's periodic rounds skip their queries then. Tests use it to
    /// observe group commit.
    /// </summary>
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

    /// <summary>
    /// Queues an operation and calls <paramref name="settled"/> on the writer thread as soon as its
    /// transaction committed (with null) or failed (with the exception), before the next group
    /// starts. For callers that only pass the outcome on, such as an actor telling itself: a task
    /// continuation costs a thread-pool work item per operation (a worker woken, then spinning
    /// idle), which on a small machine was a large share of a small append's CPU. The callback
    /// must be short and must not block: the next group waits for it.
    /// </summary>
    public void Submit<T>(WalOperation<T> operation, Action<Exception?> settled)
    {
        operation.Settled = settled;
        Submit(operation);
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

    /// <summary>
    /// Commits a group. Operations almost never fail, so the group first runs as plain statements in
    /// one transaction; only when an operation throws is that transaction rolled back and the group
    /// run again with a savepoint around each operation, so that the faulty one is undone alone and
    /// the rest still commit (ADR 0002). Nothing is acknowledged before a commit in either path.
    /// </summary>
    private void CommitBatch(List<WalOperation> batch)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!TryCommitWhole(batch, started))
        {
            CommitIsolated(batch, started);
        }
    }

    /// <summary>False, with nothing written, when an operation failed and the group must be isolated.</summary>
    private bool TryCommitWhole(List<WalOperation> batch, long started)
    {
        try
        {
            using var transaction = connection.BeginTransaction();
            var session = new WalSession(this, transaction);
            foreach (var operation in batch)
            {
                try
                {
                    operation.Apply(session);
                }
                catch (Exception exception) when (IsOperationFault(exception))
                {
                    // Undo the whole group: every operation is applied again from the same state.
                    transaction.Rollback();
                    return false;
                }
            }

            transaction.Commit();
            Interlocked.Increment(ref commitCount);
            Telemetry.StreamsMetrics.WalCommitted(batch.Count, started);
        }
        catch (Exception exception)
        {
            FailAll(batch, exception);
            return true;
        }

        foreach (var operation in batch)
        {
            operation.Complete();
        }

        return true;
    }

    private void CommitIsolated(List<WalOperation> batch, long started)
    {
        var failed = new Exception?[batch.Count];
        try
        {
            using var transaction = connection.BeginTransaction();
            var session = new WalSession(this, transaction);
            for (var i = 0; i < batch.Count; i++)
            {
                // A savepoint per operation: one faulty operation is undone alone and the rest of
                // the group still commits.
                Prepare(SavepointSql, transaction).ExecuteNonQuery();
                try
                {
                    batch[i].Apply(session);
                    Prepare(ReleaseSql, transaction).ExecuteNonQuery();
                }
                catch (Exception exception) when (IsOperationFault(exception))
                {
                    Prepare(RollbackToSql, transaction).ExecuteNonQuery();
                    Prepare(ReleaseSql, transaction).ExecuteNonQuery();
                    failed[i] = exception;
                }
            }

            transaction.Commit();
            Interlocked.Increment(ref commitCount);
            Telemetry.StreamsMetrics.WalCommitted(batch.Count, started);
        }
        catch (Exception exception)
        {
            FailAll(batch, exception);
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

    /// <summary>An operation refused or could not apply its own change; the transaction is still usable.</summary>
    private static bool IsOperationFault(Exception exception) =>
        exception is SqliteException or InvalidOperationException or ArgumentException;

    /// <summary>The commit itself failed (I/O, disk full): nothing in this group is durable.</summary>
    private static void FailAll(List<WalOperation> batch, Exception exception)
    {
        foreach (var operation in batch)
        {
            operation.Fail(exception);
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

    /// <summary>Called once, after the task settled; see <see cref="WalWriter.Submit{T}(WalOperation{T}, Action{Exception?})"/>.</summary>
    internal Action<Exception?>? Settled { get; set; }

    internal sealed override void Apply(WalSession session) => result = Execute(session);

    protected abstract T Execute(WalSession session);

    internal sealed override void Complete()
    {
        if (completion.TrySetResult(result!))
        {
            Settled?.Invoke(null);
        }
    }

    internal sealed override void Fail(Exception exception)
    {
        if (completion.TrySetException(exception))
        {
            Settled?.Invoke(exception);
        }
    }
}
