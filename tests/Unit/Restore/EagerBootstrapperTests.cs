using System.Text;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Restore;

/// <summary>
/// The eager restore: every manifest listed and restored before the node reports ready, one bad
/// manifest quarantined without stopping the rest, progress in <see cref="RestoreStatus"/> and the
/// log, and no more manifests fetched at once than the configured parallelism. Also: the rows it
/// writes are exactly the rows lazy hydration writes for the same manifests.
/// </summary>
public sealed class EagerBootstrapperTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Long enough for a fetch that was about to start to have started.</summary>
    private static readonly TimeSpan NoMoreCallsWindow = TimeSpan.FromMilliseconds(300);

    private readonly ObjectStoreWorld world = new();
    private readonly List<StreamTestNode> nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        world.Control.ClearRules();
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        world.Dispose();
    }

    [Fact]
    public async Task Should_write_the_same_rows_as_lazy_hydration_when_both_restore_the_same_manifests()
    {
        var names = await WriteVarietyAsync();
        var lazy = Node();
        var eager = Node();

        foreach (var name in names)
        {
            await lazy.Hydrator.HydrateAsync(name, CancellationToken.None);
        }

        var status = new RestoreStatus();
        await Bootstrapper(eager, status, parallelism: 4).RunAsync(CancellationToken.None);

        // The tombstone counts as restored: it was read and there is nothing to write.
        Assert.Equal(names.Count, status.Done);
        var lazyRows = IndexDump.Rows(lazy);
        Assert.Equal(lazyRows, IndexDump.Rows(eager));
        // Four live streams, each with its stream row; the deleted one has none.
        Assert.Equal(4, lazyRows.Count(line => line.StartsWith("streams: ", StringComparison.Ordinal)));
        Assert.Contains(lazyRows, line => line.StartsWith("stream_epochs: stream_name=unclean, epoch=1, start_position=4", StringComparison.Ordinal));
        Assert.Contains(lazyRows, line => line.StartsWith("producers: stream_name=producers, producer_id=p, epoch=3, last_seq=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_quarantine_a_corrupt_manifest_and_restore_the_rest_when_one_manifest_is_bad()
    {
        var writer = Node();
        foreach (var name in new[] { "a", "b", "c" })
        {
            await StreamWrites.CreateAsync(writer, name, records: 3);
        }

        await writer.PublishAsync(draining: true);
        await world.FileStore.PutAsync(ObjectStoreKeys.ManifestKey("corrupt"), Encoding.UTF8.GetBytes("{\"format_version\":"), CancellationToken.None);
        // A well-formed manifest at another stream's key: restoring it would hijack that name.
        var misplaced = await world.FileStore.GetAsync(ObjectStoreKeys.ManifestKey("a"), CancellationToken.None);
        await world.FileStore.PutAsync(ObjectStoreKeys.ManifestKey("misplaced"), misplaced!, CancellationToken.None);
        var node = Node();
        var status = new RestoreStatus();
        var logger = new ListLogger<EagerBootstrapper>();

        await Bootstrapper(node, status, parallelism: 2, logger).RunAsync(CancellationToken.None);

        Assert.False(status.IsRestoring);
        Assert.Equal(5, status.Total);
        Assert.Equal(3, status.Done);
        Assert.Equal(2, status.Failed);
        Assert.Contains("not valid JSON", status.Quarantined[ObjectStoreKeys.ManifestKey("corrupt")], StringComparison.Ordinal);
        Assert.Contains("does not belong at this key", status.Quarantined[ObjectStoreKeys.ManifestKey("misplaced")], StringComparison.Ordinal);
        Assert.Equal(["a", "b", "c"], node.Database.ListStreamNames(null, 10));
        Assert.Contains(logger.Lines, line => line.StartsWith("Error: Restore: quarantined " + ObjectStoreKeys.ManifestKey("corrupt"), StringComparison.Ordinal));
        Assert.Contains(logger.Lines, line => line.StartsWith("Information: Restore complete: 3 streams restored, 2 quarantined", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_report_progress_counts_while_it_runs_when_manifests_are_slow_to_fetch()
    {
        const int streams = 6;
        var writer = Node();
        for (var i = 0; i < streams; i++)
        {
            await StreamWrites.CreateAsync(writer, $"s{i}", records: 1);
        }

        await writer.PublishAsync(draining: true);
        var gate = world.Control.Hold(ObjectStoreOperation.Get, ObjectStoreKeys.IsManifestKey);
        var node = Node();
        var status = new RestoreStatus();
        var logger = new ListLogger<EagerBootstrapper>();

        var run = Bootstrapper(node, status, parallelism: 3, logger).RunAsync(CancellationToken.None);
        await gate.WhenArrived(3);
        await Poll.UntilAsync(
            () => logger.Lines.Any(line => line.Contains($"Restore progress: 0/{streams} streams", StringComparison.Ordinal)),
            Timeout,
            "a progress line reports 0 of 6 done");

        Assert.True(status.IsRestoring);
        Assert.Equal(streams, status.Total);
        Assert.Equal(0, status.Done);
        gate.Release();
        await run.WaitAsync(Timeout);

        Assert.False(status.IsRestoring);
        Assert.Equal(streams, status.Done);
        Assert.Equal(0, status.Failed);
        Assert.Contains(logger.Lines, line => line.Contains($"Restore: {streams} manifests listed", StringComparison.Ordinal) && line.EndsWith("restoring 3 at a time", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, line => line.Contains($"Restore progress: {streams}/{streams} streams", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_fetch_no_more_manifests_at_once_than_the_parallelism_when_many_are_listed()
    {
        const int streams = 10;
        const int parallelism = 3;
        var writer = Node();
        for (var i = 0; i < streams; i++)
        {
            await StreamWrites.CreateAsync(writer, $"s{i}", records: 1);
        }

        await writer.PublishAsync(draining: true);
        var gate = world.Control.Hold(ObjectStoreOperation.Get, ObjectStoreKeys.IsManifestKey);
        var node = Node();
        var status = new RestoreStatus();

        var run = Bootstrapper(node, status, parallelism).RunAsync(CancellationToken.None);
        await gate.WhenArrived(parallelism);
        var oneMore = gate.WhenArrived(parallelism + 1);
        var first = await Task.WhenAny(oneMore, Task.Delay(NoMoreCallsWindow));

        Assert.NotSame(oneMore, first);
        Assert.Equal(parallelism, world.Control.InFlight(ObjectStoreOperation.Get));
        gate.Release();
        await run.WaitAsync(Timeout);
        Assert.Equal(streams, status.Done);
        Assert.Equal(parallelism, world.Control.MaxInFlight(ObjectStoreOperation.Get));
        Assert.Equal(streams, node.Database.ListStreamNames(null, 100).Count);
    }

    private StreamTestNode Node(string? hocon = null)
    {
        var node = new StreamTestNode(world.Store, RestoreMode.Eager, hocon ?? "streams.segment.target-rows = 3");
        nodes.Add(node);
        return node;
    }

    private EagerBootstrapper Bootstrapper(StreamTestNode node, RestoreStatus status, int parallelism, ListLogger<EagerBootstrapper>? logger = null) =>
        new(world.Store, node.Hydrator, status, parallelism, ProgressInterval, logger ?? new ListLogger<EagerBootstrapper>());

    /// <summary>
    /// Streams that exercise every part of a manifest: several segments, a TTL, producers and
    /// Stream-Seq, a closed stream, one published without a clean drain, and a tombstone.
    /// </summary>
    private async Task<List<string>> WriteVarietyAsync()
    {
        var writer = Node();
        await StreamWrites.CreateAsync(writer, "segments", records: 8, ContentTypes.Json, ttlSeconds: 86_400);
        var producers = await StreamWrites.CreateAsync(writer, "producers", records: 2);
        await StreamWrites.AppendAsync(writer, producers, "producers", 2, 2, new ProducerState("p", 3, 0), "0001");
        await StreamWrites.AppendAsync(writer, producers, "producers", 4, 1, new ProducerState("p", 3, 1), "0002");
        var closed = await StreamWrites.CreateAsync(writer, "closed", records: 2);
        await StreamWrites.AppendAsync(writer, closed, "closed", 2, 1, new ProducerState("c", 0, 0), closeBy: new ProducerClaim("c", 0, 0), close: true);
        var deleted = await StreamWrites.CreateAsync(writer, "deleted", records: 2);
        await writer.PublishAsync(draining: true);
        await writer.WalWriter.Submit(new Streams.Actors.Storage.RemoveUnlessForkedOperation(deleted));
        await StreamWrites.CreateAsync(writer, "unclean", records: 4);
        await writer.PublishAsync(draining: false);
        return ["segments", "producers", "closed", "deleted", "unclean"];
    }
}
