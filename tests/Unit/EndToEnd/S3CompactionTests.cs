using System.Text;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>
/// Compaction against the real S3 server (Ceph RGW): a trickling stream's objects and manifest stay
/// small, a cold read of it takes a handful of GETs, and lazy nodes hydrating the stream while the
/// writer compacts it and deletes the replaced objects read exactly the bytes that were appended.
/// The engine runs in-process so that every object-store call can be counted.
/// </summary>
public sealed class S3CompactionTests(S3TestBucket bucket, ITestOutputHelper output) : IClassFixture<S3TestBucket>, IDisposable
{
    private const int TrickleAppends = 240;
    private static readonly TimeSpan TrickleInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SettleAfterLastAppend = TimeSpan.FromSeconds(20);
    private const int MaxSegmentObjects = 5;
    private const int MaxManifestBytes = 2048;
    private const int MaxColdReadGets = 10;

    private readonly TestDirectory directory = new("s3-compaction");

    public void Dispose() => directory.Dispose();

    [S3Fact]
    public async Task Should_leave_at_most_five_segment_objects_and_a_small_manifest_when_a_stream_trickled_for_a_minute_with_200ms_seals()
    {
        const string prefix = "trickle/";
        const string name = "trickle/one-append-every-250ms";
        CountingObjectStore? writerCalls = null;
        // Every setting at its default but the max-age of 200 ms: one seal per append.
        await using var writer = await StartAsync(prefix, "writer", "streams.segment.max-age = 200ms", RestoreMode.None, store => writerCalls = new CountingObjectStore(store));
        await writer.CreateAsync(name);
        var appended = new List<byte[]>();
        for (var i = 0; i < TrickleAppends; i++)
        {
            var record = Encoding.UTF8.GetBytes($"{{\"event\":\"tick\",\"n\":{i},\"at\":\"2026-12-03T12:00:{i % 60:D2}Z\"}}");
            appended.Add(record);
            Assert.IsType<Appended>(await writer.AppendAsync(name, [record]));
            // The workload's pace, not a wait for the engine: one append every 250 ms.
            await Task.Delay(TrickleInterval);
        }

        await Task.Delay(SettleAfterLastAppend);

        using var bucketStore = bucket.OpenStore(prefix);
        var segmentObjects = (await bucketStore.ListAsync(ObjectStoreKeys.SegmentsPrefix(name), null, 1000, CancellationToken.None)).Objects.Count;
        var manifestBytes = (await bucketStore.GetAsync(ObjectStoreKeys.ManifestKey(name), CancellationToken.None))!.Length;
        var calls = writerCalls!;
        var segmentPuts = calls.Count(ObjectStoreOperation.Put, key => key.Contains("/segments/", StringComparison.Ordinal));
        var manifestPuts = calls.Count(ObjectStoreOperation.Put, key => key.EndsWith("/manifest.json", StringComparison.Ordinal));
        var deletes = calls.Count(ObjectStoreOperation.Delete);
        output.WriteLine(
            $"after {TrickleAppends} appends in {TrickleAppends * TrickleInterval.TotalSeconds:F0} s and {SettleAfterLastAppend.TotalSeconds:F0} s quiet: "
            + $"{segmentObjects} segment objects, manifest {manifestBytes} bytes; writer calls: {segmentPuts} segment PUTs, {manifestPuts} manifest PUTs, {deletes} DELETEs");

        Assert.True(segmentObjects <= MaxSegmentObjects, $"{segmentObjects} segment objects under the stream's prefix");
        Assert.True(manifestBytes <= MaxManifestBytes, $"the manifest is {manifestBytes} bytes");

        CountingObjectStore? readerCalls = null;
        await using var reader = await StartAsync(prefix, "cold-reader", null, RestoreMode.Lazy, store => readerCalls = new CountingObjectStore(store));
        var read = await reader.ReadAllAsync(name);
        var gets = readerCalls!.Count(ObjectStoreOperation.Get);
        output.WriteLine($"cold read on a fresh lazy node: {read.Count} records, {gets} GETs");
        Assert.Equal(appended, read);
        Assert.True(gets <= MaxColdReadGets, $"the cold read took {gets} GETs");
    }

    [S3Fact]
    public async Task Should_read_the_appended_bytes_when_lazy_nodes_hydrate_while_the_writer_compacts_and_deletes_the_replaced_segments()
    {
        const string prefix = "hydrate-during-compaction/";
        const string name = "compacting/while-hydrating";
        const int records = 120;
        // Quick seals, eager compaction and a short grace: replaced objects vanish while readers work.
        const string quick = """
            streams.segment.max-age = 50ms
            streams.segment.check-interval = 20ms
            streams.upload.check-interval = 50ms
            streams.upload.manifest-min-interval = 100ms
            streams.compaction.check-interval = 100ms
            streams.compaction.quiet-after = 1s
            streams.compaction.deletion-grace = 1s
            """;
        await using var writer = await StartAsync(prefix, "writer", quick, RestoreMode.None);
        await writer.CreateAsync(name);
        var appended = new List<byte[]>();
        var readers = new List<(EngineHost Host, int Known)>();
        try
        {
            for (var i = 0; i < records; i++)
            {
                var record = Encoding.UTF8.GetBytes($"record {i} " + new string((char)('a' + (i % 26)), i % 40));
                appended.Add(record);
                Assert.IsType<Appended>(await writer.AppendAsync(name, [record]));
                await Task.Delay(TimeSpan.FromMilliseconds(60));
                if (i % 40 == 39)
                {
                    // A fresh lazy node hydrates now (one record read) and reads the rest only later,
                    // after the objects its manifest lists have been replaced and deleted.
                    var host = await StartAsync(prefix, $"reader-{i}", null, RestoreMode.Lazy);
                    var first = await host.Gateway.SendAsync(new ReadStream(name, ReadStart.Beginning, null, 1), TimeSpan.FromSeconds(30), CancellationToken.None);
                    Assert.Equal(appended[0], Assert.IsType<ReadCompleted>(first).Records[0].ToArray());
                    var details = await host.DetailsAsync(name);
                    readers.Add((host, (int)details.Stream.Tail.Position));
                }
            }

            // Quiet: the writer merges the tail, publishes, and deletes what it replaced.
            await Eventually.AssertAsync(
                async () =>
                {
                    using var store = bucket.OpenStore(prefix);
                    var stored = await store.ListAsync(ObjectStoreKeys.SegmentsPrefix(name), null, 1000, CancellationToken.None);
                    var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
                    Assert.Equal(records, published!.Records.Count);
                    Assert.Equal(published.Manifest.Segments.Count, stored.Objects.Count);
                },
                TimeSpan.FromSeconds(60));

            foreach (var (host, known) in readers)
            {
                Assert.True(known > 0, "a reader hydrated an empty stream");
                var read = await host.ReadAllAsync(name);
                Assert.Equal(appended.Take(read.Count), read);
                Assert.True(read.Count >= known, $"the reader saw {known} records at hydration and reads {read.Count}");
            }

            await using var late = await StartAsync(prefix, "late-reader", null, RestoreMode.Lazy);
            Assert.Equal(appended, await late.ReadAllAsync(name));
        }
        finally
        {
            foreach (var (host, _) in readers)
            {
                await host.DisposeAsync();
            }
        }
    }

    private async Task<EngineHost> StartAsync(string prefix, string node, string? hocon, RestoreMode mode, Func<IObjectStore, IObjectStore>? decorate = null)
    {
        await bucket.EnsureCreatedAsync();
        return await EngineHost.StartAsync(new StreamsEngineOptions
        {
            DataDirectory = directory.Combine(node),
            S3 = S3TestServer.Require().Options(bucket.Name, prefix),
            HoconOverrides = hocon,
            RestoreMode = mode,
            ObjectStoreDecorator = decorate,
        });
    }
}
