using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;
using static Streams.Tests.Unit.Durability.RecoveryAssertions;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// kill -9 at every commit point of a compaction: the real server process sends itself SIGKILL when
/// it reaches the point named by <c>STREAMS_CRASH_AT</c> (<see cref="CrashPoints"/>), while a producer
/// trickles records that are each sealed on their own. A restart on the same disk must then serve
/// every acknowledged record byte-for-byte, publish them, and leave in the store exactly the segment
/// objects its manifest lists: nothing lost, duplicated or reordered, no orphan for good.
/// </summary>
public sealed class CompactionCrashTests(ITestOutputHelper output) : IDisposable
{
    private const string Name = "crash/compacting";
    private const int Stream = 7;
    private const int MaxAppends = 400;
    private static readonly TimeSpan CrashDeadline = TimeSpan.FromSeconds(90);

    /// <summary>Every record its own segment, merges after a few seals, replaced objects gone a second after their publish.</summary>
    private const string Trickle = """
        streams.segment.max-age = 30ms
        streams.segment.check-interval = 20ms
        streams.upload.check-interval = 20ms
        streams.upload.manifest-min-interval = 50ms
        streams.compaction.check-interval = 100ms
        streams.compaction.quiet-after = 500ms
        streams.compaction.deletion-grace = 1s
        """;

    private readonly TestDirectory directory = new("compaction-crash");

    private string Data => directory.Combine("data");

    private string Objects => directory.Combine("objects");

    private string[] Arguments => ["--object-store-dir", Objects, "--hocon", Trickle];

    public void Dispose() => directory.Dispose();

    [Theory]
    [InlineData(CrashPoints.CompactionFilesWritten)]
    [InlineData(CrashPoints.CompactionIntentRecorded)]
    [InlineData(CrashPoints.CompactionUploaded)]
    [InlineData(CrashPoints.CompactionCommitted)]
    [InlineData(CrashPoints.LayoutManifestPut)]
    [InlineData(CrashPoints.LayoutPublished)]
    [InlineData(CrashPoints.ReplacedObjectsDeleted)]
    public async Task Should_keep_every_acknowledged_record_and_leave_no_orphan_when_killed_at_a_commit_point_of_a_compaction(string point)
    {
        var acknowledged = 0;
        await using (var crashing = await ServerProcess.StartAsync(Data, Arguments, new Dictionary<string, string> { [CrashPoints.EnvironmentVariable] = point }))
        {
            await crashing.Protocol().CreateAsync(Name);
            using var deadline = new CancellationTokenSource(CrashDeadline);
            while (!crashing.HasExited && acknowledged < MaxAppends && !deadline.IsCancellationRequested)
            {
                try
                {
                    if (await crashing.Protocol().TryAppendAsync(Name, RecordAt(Stream, acknowledged), deadline.Token) is null)
                    {
                        break;
                    }

                    acknowledged++;
                    // The producer's pace: each record waits long enough to be sealed alone.
                    await Task.Delay(TimeSpan.FromMilliseconds(40), deadline.Token);
                }
                catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException)
                {
                    break;
                }
            }

            Assert.True(
                await Eventually.TrueAsync(() => Task.FromResult(crashing.HasExited), CrashDeadline),
                $"the server never reached {point} after {acknowledged} appends:\n{crashing.RecentOutput}");
            Assert.Contains($"crash point {point} reached", crashing.RecentOutput, StringComparison.Ordinal);
        }

        output.WriteLine($"killed at {point} after {acknowledged} acknowledged appends");
        await using var restarted = await ServerProcess.StartAsync(Data, Arguments);
        var store = new FileSystemObjectStore(Objects);
        // The append in flight at the kill may have committed without its acknowledgement arriving.
        var (_, tail) = await restarted.Protocol().ReadToTailAsync(Name);
        Assert.True(
            tail.Position == acknowledged || tail.Position == acknowledged + 1,
            $"the tail is at {tail.Position} after {acknowledged} acknowledged appends");
        var committed = (int)tail.Position;
        await AssertReadableAsync(restarted.Protocol(), Name, Stream, committed);
        await AssertEventuallyPublishedAsync(restarted.Protocol(), store, Name, Stream, committed);
        // The restarted compactor may still be merging the quiet tail, or waiting out the grace of the
        // files it replaced: once it settles, the local files are exactly the listed segments.
        await Eventually.AssertAsync(() => AssertLocalSegmentFilesMatchAsync(Data, store, Name), CrashDeadline);
        await AssertReadableAsync(restarted.Protocol(), Name, Stream, committed);
    }
}
