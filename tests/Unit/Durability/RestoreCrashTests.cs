using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Tests.Support;
using Streams.Tests.Unit.Restore;
using Streams.Tests.Unit.Support;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// kill -9 in the middle of an eager restore, which writes many streams per transaction: the real
/// server process sends itself SIGKILL right after its first batch committed
/// (<see cref="CrashPoints.RestoreBatchCommitted"/>). What it leaves must be consistent — each
/// stream's rows complete or absent — and the next eager start must complete the restore to exactly
/// the rows an uninterrupted restore writes.
/// </summary>
public sealed class RestoreCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Streams = 24;
    private const int RecordsPerStream = 5;
    private const int StreamsPerCommit = 4;
    private static readonly TimeSpan CrashDeadline = TimeSpan.FromSeconds(90);

    private readonly TestDirectory directory = new("restore-crash");

    private string Data => directory.Combine("data");

    private string Objects => directory.Combine("objects");

    /// <summary>Eager, two fetches at a time, a few streams per transaction: the restore takes several batches.</summary>
    private string[] Arguments =>
    [
        "--object-store-dir", Objects, "--bootstrap-from-object-store", "--restore-parallelism", "2",
        "--hocon", $"streams.restore.streams-per-commit = {StreamsPerCommit}",
    ];

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_leave_each_stream_whole_or_absent_and_complete_on_the_next_start_when_killed_after_a_restore_batch_committed()
    {
        var names = await PublishStreamsAsync();
        var expected = await UninterruptedRestoreRowsAsync();

        await using (var crashing = ServerProcess.Launch(new ServerLaunch
        {
            Label = "crashing",
            DataDirectory = Data,
            Arguments = Arguments,
            Environment = new Dictionary<string, string> { [CrashPoints.EnvironmentVariable] = CrashPoints.RestoreBatchCommitted },
            Output = output,
        }))
        {
            Assert.True(
                await Eventually.TrueAsync(() => Task.FromResult(crashing.HasExited), CrashDeadline),
                $"the server never reached {CrashPoints.RestoreBatchCommitted}:\n{crashing.RecentOutput}");
            Assert.Equal(ServerProcess.ExitCodeAfterSigkill, crashing.ExitCode);
        }

        var leftBehind = IndexDump.Rows(Path.Combine(Data, StreamDatabase.FileName));
        var restoredBeforeCrash = StreamNames(leftBehind);
        Assert.InRange(restoredBeforeCrash.Count, 1, StreamsPerCommit);
        // Every row left behind is a row of the finished restore, and a stream left behind has all of
        // its rows: nothing half-written.
        Assert.Empty(leftBehind.Except(expected));
        Assert.Equal(expected.Where(line => restoredBeforeCrash.Contains(RowStream(line))).Order(StringComparer.Ordinal), leftBehind);

        await using var restarted = await ServerProcess.StartAsync(new ServerLaunch { Label = "restarted", DataDirectory = Data, Arguments = Arguments, Output = output });
        Assert.Equal(expected, IndexDump.Rows(Path.Combine(Data, StreamDatabase.FileName)));
        foreach (var name in names)
        {
            var (bytes, tail) = await restarted.Protocol().ReadToTailAsync(name);
            Assert.Equal(RecordsPerStream, tail.Position);
            Assert.Equal(StreamWrites.Records(name, 0, RecordsPerStream).SelectMany(record => record), bytes);
        }
    }

    /// <summary>Streams of two segments each, published (drained clean) to the directory store.</summary>
    private async Task<List<string>> PublishStreamsAsync()
    {
        var names = Enumerable.Range(0, Streams).Select(index => $"restore-crash/{index:D2}").ToList();
        await using var writer = new StreamTestNode(new FileSystemObjectStore(Objects), hocon: "streams.segment.target-rows = 3");
        foreach (var name in names)
        {
            await StreamWrites.CreateAsync(writer, name, RecordsPerStream);
        }

        await writer.PublishAsync(draining: true);
        return names;
    }

    private async Task<List<string>> UninterruptedRestoreRowsAsync()
    {
        await using var reference = new StreamTestNode(new FileSystemObjectStore(Objects), RestoreMode.Eager);
        var status = new RestoreStatus();
        await new EagerBootstrapper(
            reference.ObjectStore,
            reference.Hydrator,
            status,
            parallelism: 2,
            TimeSpan.FromMinutes(1),
            new ListLogger<EagerBootstrapper>(),
            StreamsPerCommit).RunAsync(CancellationToken.None);
        Assert.Equal(Streams, status.Done);
        return IndexDump.Rows(reference);
    }

    private static HashSet<string> StreamNames(IEnumerable<string> rows) =>
        [.. rows.Where(line => line.StartsWith("streams: ", StringComparison.Ordinal)).Select(RowStream)];

    /// <summary>The stream a dumped row belongs to: <c>name=</c> in a stream row, <c>stream_name=</c> in the others.</summary>
    private static string RowStream(string line)
    {
        var marker = line.StartsWith("streams: ", StringComparison.Ordinal) ? "name=" : "stream_name=";
        var start = line.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        var end = line.IndexOf(", ", start, StringComparison.Ordinal);
        return line[start..(end < 0 ? line.Length : end)];
    }
}
