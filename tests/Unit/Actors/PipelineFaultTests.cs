using Streams.Actors.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Tests.Support;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// The real segmenter and uploader actors, in the engine host, against an object store that fails,
/// hangs, loses replies and truncates reads.
/// </summary>
public sealed class PipelineFaultTests(ITestOutputHelper output) : IDisposable
{
    private const double FailureRate = 0.3;
    private const int HealthyStreams = 4;
    private static readonly TimeSpan InjectedTimeout = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan PublishDeadline = TimeSpan.FromSeconds(90);

    // Seal every three records or after 50 ms, look for work every 20 ms, retry quickly, and keep no
    // uploaded segment on local disk, so reads download from the (flaky) store.
    private const string FastPipeline = """
        streams.segment.target-rows = 3
        streams.segment.max-age = 50ms
        streams.segment.check-interval = 20ms
        streams.upload.check-interval = 20ms
        streams.upload.retry-min-backoff = 10ms
        streams.upload.retry-max-backoff = 200ms
        streams.segment-cache-bytes = 0
        # Nor opened segments kept in memory: every read downloads, so truncated downloads are seen.
        streams.read-cache-bytes = 0
        streams.drain-timeout = 60s
        """;

    private readonly TestDirectory directory = new("pipeline-faults");

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_publish_every_record_with_each_streams_segments_put_in_order_when_the_store_fails_at_random()
    {
        var seed = Random.Shared.Next();
        output.WriteLine($"fault seed {seed}");
        var faults = new FaultSwitch(FlakyObjectStore.RandomFaults(seed, FailureRate));
        FlakyObjectStore? flaky = null;
        var objects = directory.Combine("objects");
        var names = Enumerable.Range(0, 6).Select(i => $"flaky/{i}").ToList();
        var appended = names.ToDictionary(name => name, _ => new List<byte[]>());

        await using (var engine = await EngineHost.StartAsync(Options(objects, store => flaky = new FlakyObjectStore(store, faults.Decide, InjectedTimeout))))
        {
            foreach (var name in names)
            {
                await engine.CreateAsync(name);
            }

            faults.Enabled = true;
            await Task.WhenAll(names.Select((name, i) => AppendRecordsAsync(engine, name, appended[name], seed + i, count: 30)));

            // The uploader alone, retrying with backoff, gets every record out.
            var store = new FileSystemObjectStore(objects);
            await Eventually.AssertAsync(() => AssertPublishedAsync(store, appended, $"seed {seed}"), PublishDeadline);

            // Reads download every segment (no local cache): with the store healthy they return
            // exactly what was appended; with every download truncated they fail rather than lie.
            faults.Enabled = false;
            foreach (var name in names)
            {
                AssertSameRecords(appended[name], await engine.ReadAllAsync(name), $"{name} read back (seed {seed})");
                // The local commit of a publish follows its manifest put: wait for it.
                await Eventually.AssertAsync(async () =>
                {
                    var details = await engine.DetailsAsync(name);
                    Assert.Equal(details.Stream.Tail, details.UploadedThrough);
                    Assert.Null(details.LastUploadError);
                }, PublishDeadline);
            }

            faults.ShortReadsOnly = true;
            foreach (var name in names)
            {
                var exception = await Record.ExceptionAsync(() => engine.ReadAllAsync(name));
                Assert.True(exception is InvalidOperationException, $"a read of {name} with truncated downloads returned data");
            }

            // More records, then a shutdown while the store fails again: the drain publishes them all.
            faults.ShortReadsOnly = false;
            faults.Enabled = true;
            await Task.WhenAll(names.Select((name, i) => AppendRecordsAsync(engine, name, appended[name], seed + 100 + i, count: 10)));
            await engine.StopAsync();

            await AssertPublishedAsync(store, appended, $"seed {seed}, after the drain", drainedClean: true);
        }

        AssertSegmentsPutInOrder(flaky!, names, $"seed {seed}");
    }

    [Fact]
    public async Task Should_keep_publishing_other_streams_when_one_streams_uploads_keep_failing()
    {
        var objects = directory.Combine("objects");
        const string broken = "broken/stream";
        var healthy = Enumerable.Range(0, HealthyStreams).Select(i => $"healthy/{i}").ToList();
        var brokenPrefix = ObjectStoreKeys.StreamDirectory(broken);
        var brokenFails = true;
        InjectedFault Decide(ObjectStoreOperation operation, string key) =>
            Volatile.Read(ref brokenFails) && operation == ObjectStoreOperation.Put && key.StartsWith(brokenPrefix, StringComparison.Ordinal)
                ? InjectedFault.FailBefore
                : InjectedFault.None;
        var appended = new[] { broken }.Concat(healthy).ToDictionary(name => name, _ => new List<byte[]>());

        await using var engine = await EngineHost.StartAsync(Options(objects, store => new FlakyObjectStore(store, Decide, InjectedTimeout)));
        foreach (var name in appended.Keys)
        {
            await engine.CreateAsync(name);
            await AppendRecordsAsync(engine, name, appended[name], seed: name.Length, count: 10);
        }

        var store = new FileSystemObjectStore(objects);
        await Eventually.AssertAsync(
            () => AssertPublishedAsync(store, healthy.ToDictionary(name => name, name => appended[name]), "healthy streams"),
            PublishDeadline);
        Assert.Null(await store.GetAsync(ObjectStoreKeys.ManifestKey(broken), CancellationToken.None));
        var stuck = await engine.DetailsAsync(broken);
        Assert.Equal(0, stuck.UploadedThrough.Position);
        Assert.NotNull(stuck.LastUploadError);

        Volatile.Write(ref brokenFails, false);
        await Eventually.AssertAsync(
            () => AssertPublishedAsync(store, new Dictionary<string, List<byte[]>> { [broken] = appended[broken] }, "the stream that recovered"),
            PublishDeadline);
    }

    private StreamsEngineOptions Options(string objects, Func<IObjectStore, IObjectStore> decorate) => new()
    {
        DataDirectory = directory.Combine("data"),
        FileSystemObjectStoreDirectory = objects,
        HoconOverrides = FastPipeline,
        ObjectStoreDecorator = decorate,
    };

    /// <summary>Appends <paramref name="count"/> records in batches of one to three, each acknowledged before the next.</summary>
    private static async Task AppendRecordsAsync(EngineHost engine, string name, List<byte[]> appended, int seed, int count)
    {
        var random = new Random(seed);
        var target = appended.Count + count;
        while (appended.Count < target)
        {
            var batch = Enumerable.Range(appended.Count, Math.Min(random.Next(1, 4), target - appended.Count))
                .Select(position => Payload(name, position, random.Next(0, 200)))
                .ToList();
            var reply = await engine.AppendAsync(name, batch);
            Assert.True(reply is Appended, $"append to {name} answered {reply}");
            appended.AddRange(batch);
        }
    }

    private static byte[] Payload(string name, int position, int padding) =>
        System.Text.Encoding.UTF8.GetBytes($"{name}#{position}:" + new string('x', padding));

    private static async Task AssertPublishedAsync(IObjectStore store, IReadOnlyDictionary<string, List<byte[]>> appended, string context, bool drainedClean = false)
    {
        foreach (var (name, records) in appended)
        {
            var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
            Assert.True(published is not null, $"{name} has no manifest yet ({context})");
            AssertSameRecords(records, published.Records, $"{name} as published ({context})");
            if (drainedClean)
            {
                Assert.True(published.Manifest.DrainedClean, $"{name}: the manifest written by the drain is not marked drained_clean ({context})");
            }
        }
    }

    private static void AssertSameRecords(IReadOnlyList<byte[]> expected, IReadOnlyList<byte[]> actual, string what)
    {
        Assert.True(expected.Count == actual.Count, $"{what}: {actual.Count} records, expected {expected.Count}");
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"{what}: record {i} differs");
        }
    }

    /// <summary>
    /// Per stream, a segment is put only after the caller saw the previous segment's put succeed,
    /// a manifest only after every segment it lists was put successfully, and no segment is sent
    /// again once a put of it succeeded.
    /// </summary>
    private static void AssertSegmentsPutInOrder(FlakyObjectStore store, IEnumerable<string> names, string context)
    {
        foreach (var name in names)
        {
            var puts = store.Calls
                .Where(call => call.Operation == ObjectStoreOperation.Put && call.Key.StartsWith(ObjectStoreKeys.StreamDirectory(name), StringComparison.Ordinal))
                .ToList();
            var segmentPuts = puts.Where(call => call.Key.StartsWith(ObjectStoreKeys.SegmentsPrefix(name), StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(segmentPuts);
            foreach (var repeated in segmentPuts.Where(call => call.Succeeded).GroupBy(call => call.Key).Where(group => group.Count() > 1))
            {
                Assert.Fail($"{repeated.Key} was put successfully {repeated.Count()} times ({context})");
            }

            bool PutBefore(string key, long time) =>
                segmentPuts.Any(call => call.Key == key && call.Succeeded && call.Finished < time);

            foreach (var put in puts)
            {
                if (put.Key == ObjectStoreKeys.ManifestKey(name))
                {
                    var listed = Streams.Actors.Domain.StreamManifest.Parse(put.Content!).Segments;
                    for (var index = 0; index < listed.Count; index++)
                    {
                        Assert.True(PutBefore(ObjectStoreKeys.SegmentKey(name, listed.ObjectNameAt(index)), put.Started), $"{name}: a manifest listing segment {index} was put before that segment ({context})");
                    }
                }
                else
                {
                    // Segment object names start with the segment's first position, so key order is stream order.
                    var previous = segmentPuts.Select(call => call.Key).Where(key => string.CompareOrdinal(key, put.Key) < 0).Max(StringComparer.Ordinal);
                    Assert.True(previous is null || PutBefore(previous, put.Started), $"{name}: {put.Key} was put before {previous} ({context})");
                }
            }
        }
    }

    /// <summary>Turns a fault policy on and off while the engine runs; or truncates every Get and nothing else.</summary>
    private sealed class FaultSwitch(Func<ObjectStoreOperation, string, InjectedFault> faults)
    {
        private volatile bool enabled;
        private volatile bool shortReadsOnly;

        public bool Enabled
        {
            get => enabled;
            set => enabled = value;
        }

        public bool ShortReadsOnly
        {
            get => shortReadsOnly;
            set => shortReadsOnly = value;
        }

        public InjectedFault Decide(ObjectStoreOperation operation, string key)
        {
            if (shortReadsOnly)
            {
                return operation == ObjectStoreOperation.Get ? InjectedFault.ShortRead : InjectedFault.None;
            }

            return enabled ? faults(operation, key) : InjectedFault.None;
        }
    }
}
