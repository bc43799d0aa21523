using System.Text;
using Microsoft.Data.Sqlite;
using Streams.Actors.Domain;
using Streams.Actors.Storage;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Storage;

/// <summary>Group commit, per-operation isolation, durability across reopen and the append tail check.</summary>
public sealed class WalWriterTests : IAsyncLifetime
{
    private const int MaxOperationsPerCommit = 2048;
    private const long Timestamp = 1_700_000_000_000;

    private readonly TempDataDirectory directory = new("wal");
    private StreamDatabase database = null!;
    private WalWriter writer = null!;

    public Task InitializeAsync()
    {
        database = new StreamDatabase(directory.Path);
        writer = new WalWriter(database, MaxOperationsPerCommit);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await writer.DisposeAsync();
        directory.Dispose();
    }

    // ---- group commit ------------------------------------------------------------------------

    [Fact]
    public async Task Should_commit_many_operations_in_few_transactions_when_they_arrive_together()
    {
        const int operations = 200;
        var streamIds = await CreateStreamsAsync(operations);
        var gate = await WriterGate.CloseAsync(writer);
        var commitsBefore = writer.CommitCount;

        var completions = new Task<bool>[operations];
        Parallel.For(0, operations, i => completions[i] = writer.Submit(AppendAt(streamIds[i], 0, $"record {i}")));
        gate.Open();
        await Task.WhenAll(completions);

        var commits = writer.CommitCount - commitsBefore;
        Assert.True(commits < operations, $"{operations} operations took {commits} commits");
        Assert.All(completions, completion => Assert.True(completion.Result));
        Assert.All(streamIds, id => Assert.Equal(1, database.LoadStream(id)!.NextPosition));
    }

    [Fact]
    public async Task Should_split_a_group_when_it_exceeds_the_maximum_operations_per_commit()
    {
        const int maxPerCommit = 10;
        const int operations = 35;
        await using var smallBatches = new WalWriter(database, maxPerCommit);
        var streamIds = await CreateStreamsAsync(operations, smallBatches);
        var gate = await WriterGate.CloseAsync(smallBatches);
        var commitsBefore = smallBatches.CommitCount;

        var completions = streamIds.Select(id => smallBatches.Submit(AppendAt(id, 0, "x"))).ToArray();
        gate.Open();
        await Task.WhenAll(completions);

        // The gate's own group, then ceil(35 / 10) groups for the appends queued behind it.
        Assert.Equal(1 + 4, smallBatches.CommitCount - commitsBefore);
    }

    // ---- isolation ---------------------------------------------------------------------------

    [Fact]
    public async Task Should_commit_the_rest_of_a_group_when_one_operation_in_it_fails()
    {
        var ids = await CreateStreamsAsync(3);
        var gate = await WriterGate.CloseAsync(writer);
        var commitsBefore = writer.CommitCount;

        var first = writer.Submit(AppendAt(ids[0], 0, "a"));
        var gap = writer.Submit(AppendAt(ids[1], 5, "written before the tail check fails"));
        var third = writer.Submit(AppendAt(ids[2], 0, "c"));
        gate.Open();

        Assert.True(await first);
        await Assert.ThrowsAsync<InvalidOperationException>(() => gap);
        Assert.True(await third);
        Assert.Equal(2, writer.CommitCount - commitsBefore);
        Assert.Equal(["a"], Payloads(ids[0]));
        Assert.Empty(database.ReadWal(ids[1], 0, long.MaxValue, long.MaxValue));
        Assert.Equal(0, database.LoadStream(ids[1])!.NextPosition);
        Assert.Equal(["c"], Payloads(ids[2]));
    }

    [Fact]
    public async Task Should_report_no_operation_of_a_group_as_committed_when_the_disk_fills_up()
    {
        var ids = await CreateStreamsAsync(1);
        var gate = await WriterGate.CloseAsync(writer);

        _ = DiskFull.Begin(writer);
        var create = writer.Submit(CreateOperation("created in the doomed group"));
        var append = writer.Submit(AppendAt(ids[0], 0, new string('x', 256 * 1024)));
        gate.Open();

        // SQLite answers SQLITE_FULL by rolling back the whole transaction, so nothing in the group
        // may be reported durable — not even the operations that ran before the failing one.
        await Assert.ThrowsAnyAsync<Exception>(() => create);
        await Assert.ThrowsAnyAsync<Exception>(() => append);
        Assert.Null(database.LoadStream("created in the doomed group"));
        Assert.Equal(0, database.LoadStream(ids[0])!.NextPosition);
    }

    [Fact]
    public async Task Should_keep_committing_when_the_disk_has_room_again()
    {
        var ids = await CreateStreamsAsync(1);
        await DiskFull.Begin(writer);
        await Assert.ThrowsAnyAsync<Exception>(() => writer.Submit(AppendAt(ids[0], 0, new string('x', 256 * 1024))));

        await DiskFull.End(writer);
        var appended = await writer.Submit(AppendAt(ids[0], 0, new string('y', 256 * 1024)));

        Assert.True(appended);
        Assert.Equal(1, database.LoadStream(ids[0])!.NextPosition);
    }

    // ---- settled callback ----------------------------------------------------------------------

    [Fact]
    public async Task Should_call_back_once_after_the_commit_when_an_operation_is_submitted_with_a_callback()
    {
        var ids = await CreateStreamsAsync(2);
        var gate = await WriterGate.CloseAsync(writer);
        var committed = new TaskCompletionSource<(Exception? Outcome, string[] PayloadsAtCallback)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;

        writer.Submit(AppendAt(ids[0], 0, "a"), settled: exception =>
        {
            Interlocked.Increment(ref calls);
            // Read through another connection: the records must already be durable and visible.
            committed.TrySetResult((exception, Payloads(ids[0])));
        });
        writer.Submit(AppendAt(ids[1], 7, "leaves a gap"), settled: exception =>
        {
            Interlocked.Increment(ref calls);
            refused.TrySetResult(exception);
        });
        gate.Open();

        var (outcome, payloadsAtCallback) = await committed.Task;
        Assert.Null(outcome);
        Assert.Equal(["a"], payloadsAtCallback);
        Assert.IsType<InvalidOperationException>(await refused.Task);
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    // ---- tail check --------------------------------------------------------------------------

    [Fact]
    public async Task Should_refuse_an_append_when_it_would_leave_a_gap()
    {
        var ids = await CreateStreamsAsync(1);
        await writer.Submit(AppendAt(ids[0], 0, "a"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.Submit(AppendAt(ids[0], 3, "d")));

        Assert.Equal(["a"], Payloads(ids[0]));
        Assert.Equal(1, database.LoadStream(ids[0])!.NextPosition);
    }

    [Fact]
    public async Task Should_refuse_an_append_when_it_would_overwrite_committed_records()
    {
        var ids = await CreateStreamsAsync(1);
        await writer.Submit(AppendAt(ids[0], 0, "a", "b"));

        await Assert.ThrowsAnyAsync<Exception>(() => writer.Submit(AppendAt(ids[0], 1, "B")));

        Assert.Equal(["a", "b"], Payloads(ids[0]));
        Assert.Equal(2, database.LoadStream(ids[0])!.NextPosition);
    }

    // ---- durability --------------------------------------------------------------------------

    [Fact]
    public async Task Should_keep_committed_records_and_stream_state_when_the_database_is_reopened()
    {
        var closer = new ProducerClaim("p", Epoch: 2, Seq: 1);
        var ids = await CreateStreamsAsync(1);
        var id = ids[0];
        await writer.Submit(new AppendOperation(id, 0, Utf8("a", "b"), Timestamp, close: false, closedBy: null, "seq-1", new ProducerState("p", 2, 0)));
        await writer.Submit(new AppendOperation(id, 2, Utf8("c"), Timestamp, close: true, closer, "seq-2", new ProducerState("p", 2, 1)));

        await writer.DisposeAsync();
        SqliteConnection.ClearAllPools();
        database = new StreamDatabase(directory.Path);
        writer = new WalWriter(database, MaxOperationsPerCommit);
        var row = database.LoadStream(id)!;

        Assert.Equal(["a", "b", "c"], Payloads(id));
        Assert.Equal(3, row.NextPosition);
        Assert.True(row.Closed);
        Assert.Equal(closer, row.ClosedBy);
        Assert.Equal("seq-2", row.LastStreamSeq);
        Assert.Equal([new ProducerState("p", 2, 1)], row.Producers);
        Assert.Equal([new EpochStart(0, 0)], row.Epochs);
    }

    [Fact]
    public async Task Should_continue_at_the_committed_tail_when_the_database_is_reopened()
    {
        var ids = await CreateStreamsAsync(1);
        await writer.Submit(AppendAt(ids[0], 0, "before"));

        await writer.DisposeAsync();
        SqliteConnection.ClearAllPools();
        database = new StreamDatabase(directory.Path);
        writer = new WalWriter(database, MaxOperationsPerCommit);
        await writer.Submit(AppendAt(ids[0], 1, "after"));

        Assert.Equal(["before", "after"], Payloads(ids[0]));
    }

    [Fact]
    public async Task Should_fail_an_operation_when_it_is_submitted_after_dispose()
    {
        var ids = await CreateStreamsAsync(1);
        await writer.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.Submit(AppendAt(ids[0], 0, "late")));
    }

    // ---- helpers -----------------------------------------------------------------------------

    private async Task<long[]> CreateStreamsAsync(int count, WalWriter? through = null)
    {
        var target = through ?? writer;
        var prefix = Guid.NewGuid().ToString("N");
        return await Task.WhenAll(Enumerable.Range(0, count).Select(i => target.Submit(CreateOperation($"{prefix}/{i}"))));
    }

    private static CreateStreamOperation CreateOperation(string name) =>
        new(new StreamRow { Name = name, ContentType = ContentTypes.Default, CreatedAtMs = Timestamp, LastAccessMs = Timestamp }, [], Timestamp);

    private static AppendOperation AppendAt(long streamId, long firstPosition, params string[] payloads) =>
        new(streamId, firstPosition, Utf8(payloads), Timestamp, close: false, closedBy: null, lastStreamSeq: null, producer: null);

    private static byte[][] Utf8(params string[] payloads) => [.. payloads.Select(Encoding.UTF8.GetBytes)];

    private string[] Payloads(long streamId) =>
        [.. database.ReadWal(streamId, 0, long.MaxValue, long.MaxValue).Select(record => Encoding.UTF8.GetString(record.Payload.Span))];
}
