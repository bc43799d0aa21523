using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Streams.Actors.Domain;
using Streams.Bench.Cli;
using Streams.Bench.Http;
using Streams.Bench.Reporting;
using Streams.Bench.Restore;
using Streams.Bench.Stores;
using Streams.Bench.Throughput;

namespace Streams.Bench.Cluster;

/// <summary>
/// <c>cluster</c>: a cluster of served nodes on the S3 test server. Appends/s and catch-up MB/s through
/// the owner of the streams and through a node that does not own them; the pause a graceful leave
/// causes to a stream being written; the time to move the streams of a leaving node; and how long a
/// node joining a cluster over N published streams takes until it is ready and serves them.
/// </summary>
public static class ClusterCommand
{
    /// <summary>The cluster's processor time is measured over all its nodes (RunningProcessorTime), not per call.</summary>
    private static readonly ServerCpu NotMeasured = new(processId: null);

    public const string Name = "cluster";

    private const string OctetStream = "application/octet-stream";
    private const int SmallBodyBytes = 100;
    private const int LargeBodyBytes = 1024 * 1024;
    private const int WarmUpRequests = 200;
    private const int CreateParallelism = 16;
    private const int MaxOwnerSearchFactor = 8;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan WriteBeforeLeave = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan WriteAfterLeave = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var nodeCount = args.Int("nodes", 3, minimum: 3);
        var seconds = args.Int("seconds", 10, minimum: 1);
        var writers = args.Int("writers", 16, minimum: 1);
        var streamCount = args.Int("streams", 8, minimum: 1);
        var catchUpMegabytes = args.Int("catch-up-mb", 32, minimum: 1);
        var catchUpRounds = args.Int("catch-up-rounds", 2, minimum: 1);
        var moveStreams = args.Int("move-streams", 1_000, minimum: 1);
        var joinSizes = args.IntList("join-streams", [1_000, 10_000], minimum: 1);
        var coldReads = args.Int("cold-reads", 50, minimum: 1);
        var keep = args.Switch("keep");
        var bucket = args.String("s3-bucket", "streams-bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        if (args.Problems() is { Count: > 0 } problems)
        {
            return Usage.Fail(problems);
        }

        if (S3TestServer.Configured is not { } endpoint)
        {
            return Usage.Fail(["cluster needs the S3 test server: load the env file of scripts/s3-test-server.sh (STREAMS_TEST_S3_*)"]);
        }

        var progress = Console.Error;
        using var scratch = new ScratchDirectory(keep);
        var store = new S3BenchStore(endpoint, bucket);
        await store.EnsureBucketAsync(cancellationToken);
        var run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var locations = new List<string>();
        try
        {
            Console.WriteLine($"## cluster ({nodeCount} nodes, {store.Describe()})");
            Console.WriteLine();
            Console.WriteLine($"Machine: {MachineInfo.Describe()}; load average at start {MachineInfo.LoadAverage()}");
            Console.WriteLine();

            var location = $"cluster-{run}/";
            locations.Add(location);
            await using (var cluster = new BenchCluster(store, location, scratch.Path, []))
            {
                for (var i = 0; i < nodeCount; i++)
                {
                    await cluster.AddNodeAsync(StartTimeout, cancellationToken);
                }

                await progress.WriteLineAsync($"cluster: {nodeCount} nodes ready");
                var owner = cluster.Nodes[0];
                var other = cluster.Nodes[1];
                var owned = await CreateOwnedByAsync(cluster, owner, owner, $"bench/{run}/owned-", streamCount, withRecord: false, cancellationToken);
                await AppendLoad.RunAsync(owner.Client, new AppendPhase("warm-up", owned, writers, SmallBodyBytes, TimeSpan.FromSeconds(seconds), WarmUpRequests), NotMeasured, cancellationToken);
                await CompareAppendsAsync(cluster, owner, other, owned, writers, TimeSpan.FromSeconds(seconds), cancellationToken);
                await CompareCatchUpAsync(cluster, owner, other, $"bench/{run}/catch-up", catchUpMegabytes, catchUpRounds, cancellationToken);

                // The last node leaves with a single stream being written: the pause of one stream's handoff.
                var leaver = cluster.Nodes[^1];
                var hot = (await CreateOwnedByAsync(cluster, owner, leaver, $"bench/{run}/hot-", 1, withRecord: false, cancellationToken))[0];
                await MeasureHandoffPauseAsync(owner, leaver, hot, cancellationToken);

                // The next one leaves holding many streams, each with a record to drain: the time to move them.
                var mover = cluster.Nodes[^2];
                var moving = await CreateOwnedByAsync(cluster, owner, mover, $"bench/{run}/move-", moveStreams, withRecord: true, cancellationToken);
                await MeasureMoveAsync(cluster, owner, mover, moving, cancellationToken);
            }

            await MeasureJoinAsync(store, scratch.Path, run, joinSizes, coldReads, locations, cancellationToken);
            Console.WriteLine($"Load average at the end: {MachineInfo.LoadAverage()}");
            return 0;
        }
        finally
        {
            if (!keep)
            {
                foreach (var location in locations)
                {
                    await store.DeleteLocationAsync(location, CancellationToken.None);
                }
            }
        }
    }

    /// <summary>
    /// Creates streams through <paramref name="through"/> until <paramref name="count"/> of them are
    /// owned by <paramref name="owner"/>, and returns those (with one record each when asked).
    /// </summary>
    private static async Task<IReadOnlyList<string>> CreateOwnedByAsync(
        BenchCluster cluster, BenchNode through, BenchNode owner, string prefix, int count, bool withRecord, CancellationToken cancellationToken)
    {
        var owned = new List<string>();
        var next = 0;
        var stopwatch = Stopwatch.StartNew();
        var record = new byte[SmallBodyBytes];
        while (owned.Count < count)
        {
            if (next > count * cluster.Nodes.Count * MaxOwnerSearchFactor)
            {
                throw new InvalidOperationException($"{next} streams created, only {owned.Count} owned by {owner}");
            }

            var batch = Enumerable.Range(next, Math.Max(CreateParallelism, (count - owned.Count) * cluster.Running.Count)).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture)).ToList();
            next += batch.Count;
            var found = new System.Collections.Concurrent.ConcurrentBag<(int Index, string Name)>();
            await Parallel.ForEachAsync(
                batch.Select((name, index) => (name, index)),
                new ParallelOptions { MaxDegreeOfParallelism = CreateParallelism, CancellationToken = cancellationToken },
                async (entry, token) =>
                {
                    await through.Client.CreateAsync(entry.name, OctetStream, token);
                    if ((await cluster.OwnerOfAsync(entry.name, token)) == owner)
                    {
                        found.Add((entry.index, entry.name));
                    }
                });
            owned.AddRange(found.OrderBy(entry => entry.Index).Select(entry => entry.Name).Take(count - owned.Count));
        }

        if (withRecord)
        {
            await Parallel.ForEachAsync(
                owned,
                new ParallelOptions { MaxDegreeOfParallelism = CreateParallelism, CancellationToken = cancellationToken },
                async (name, token) => await ExpectSuccessAsync(through.Client.AppendAsync(name, record, OctetStream, token), name));
        }

        await Console.Error.WriteLineAsync($"cluster: {owned.Count} streams owned by {owner} ({next} created) in {stopwatch.Elapsed.TotalSeconds:F1} s");
        return owned;
    }

    private static async Task CompareAppendsAsync(BenchCluster cluster, BenchNode owner, BenchNode other, IReadOnlyList<string> streams, int writers, TimeSpan duration, CancellationToken cancellationToken)
    {
        Console.WriteLine($"Appends of 100 B bodies by {writers} writers onto {streams.Count} streams owned by node 1, for {duration.TotalSeconds:F0} s each; server CPU is the processor time of all nodes together:");
        Console.WriteLine();
        var table = new MarkdownTable("through", "appends", "appends/s", "p50 ms", "p99 ms", "max ms", "errors", "server CPU ms/append");
        foreach (var (label, node) in (ValueTuple<string, BenchNode>[])[("owner (node 1)", owner), ("non-owner (node 2)", other)])
        {
            var cpuBefore = cluster.RunningProcessorTime();
            var result = await AppendLoad.RunAsync(node.Client, new AppendPhase(label, streams, writers, SmallBodyBytes, duration, int.MaxValue), NotMeasured, cancellationToken);
            var cpu = cluster.RunningProcessorTime() - cpuBefore;
            table.Add(label, result.Succeeded, result.AppendsPerSecond.ToString("N0", CultureInfo.InvariantCulture), result.Latency.P50, result.Latency.P99, result.Latency.Max,
                result.Failed + result.Throttled, PerOperation(cpu, result.Succeeded));
        }

        Console.WriteLine(table);
    }

    private static async Task CompareCatchUpAsync(BenchCluster cluster, BenchNode owner, BenchNode other, string prefix, int megabytes, int rounds, CancellationToken cancellationToken)
    {
        var stream = (await CreateOwnedByAsync(cluster, owner, owner, prefix, 1, withRecord: false, cancellationToken))[0];
        var body = new byte[LargeBodyBytes];
        Random.Shared.NextBytes(body);
        for (var i = 0; i < megabytes; i++)
        {
            await ExpectSuccessAsync(owner.Client.AppendAsync(stream, body, OctetStream, cancellationToken), stream);
        }

        Console.WriteLine($"Catch-up read of a {megabytes} MiB stream (1 MiB records) owned by node 1, from offset -1 until up to date:");
        Console.WriteLine();
        var table = new MarkdownTable("through", "round", "requests", "time", "MB/s", "server CPU ms/MB");
        foreach (var (label, node) in (ValueTuple<string, BenchNode>[])[("owner (node 1)", owner), ("non-owner (node 2)", other)])
        {
            for (var round = 1; round <= rounds; round++)
            {
                var cpuBefore = cluster.RunningProcessorTime();
                var result = await CatchUpReader.ReadAllAsync(node.Client, stream, round, (long)megabytes * LargeBodyBytes, NotMeasured, cancellationToken);
                var cpu = cluster.RunningProcessorTime() - cpuBefore;
                table.Add(label, round, result.Requests, result.Elapsed, result.MegabytesPerSecond.ToString("N0", CultureInfo.InvariantCulture), PerOperation(cpu, megabytes));
            }
        }

        Console.WriteLine(table);
    }

    /// <summary>One writer appends to <paramref name="stream"/> through a node that stays while its owner leaves; the longest wait between acknowledgements.</summary>
    private static async Task MeasureHandoffPauseAsync(BenchNode writerNode, BenchNode leaver, string stream, CancellationToken cancellationToken)
    {
        var body = new byte[SmallBodyBytes];
        var acknowledged = new List<TimeSpan>();
        var failed = 0;
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writer = Task.Run(
            async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    System.Net.HttpStatusCode status;
                    try
                    {
                        status = await writerNode.Client.AppendAsync(stream, body, OctetStream, cancellationToken);
                    }
                    catch (HttpRequestException)
                    {
                        failed++;
                        continue;
                    }

                    if ((int)status / 100 == 2)
                    {
                        acknowledged.Add(clock.Elapsed);
                    }
                    else
                    {
                        failed++;
                    }
                }
            },
            cancellationToken);
        await Task.Delay(WriteBeforeLeave, cancellationToken);
        var signalled = clock.Elapsed;
        var drain = await leaver.Server.StopGracefullyAsync(DrainGrace);
        await Task.Delay(WriteAfterLeave, cancellationToken);
        await stop.CancelAsync();
        await writer;

        var before = acknowledged.Where(at => at < signalled).ToList();
        var gapsBefore = before.Zip(before.Skip(1), (first, second) => (second - first).TotalMilliseconds);
        var around = acknowledged.Where(at => at >= signalled).Prepend(before.LastOrDefault()).ToList();
        var pause = around.Zip(around.Skip(1), (first, second) => second - first).DefaultIfEmpty(TimeSpan.Zero).Max();
        Console.WriteLine("Handoff pause: one writer appends 100 B bodies in a loop through node 1 to a stream owned by the last node, which is sent SIGTERM:");
        Console.WriteLine();
        var table = new MarkdownTable("acks", "refused", "p50 gap before (ms)", "drain (SIGTERM to exit)", "longest gap after SIGTERM");
        table.Add(acknowledged.Count, failed, LatencySummary.Of(gapsBefore).P50, drain, pause);
        Console.WriteLine(table);
    }

    /// <summary>SIGTERM to the owner of <paramref name="streams"/>; the drain, then appends to every one through node 1.</summary>
    private static async Task MeasureMoveAsync(BenchCluster cluster, BenchNode through, BenchNode leaver, IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        var body = new byte[SmallBodyBytes];
        var clock = Stopwatch.StartNew();
        var drain = await leaver.Server.StopGracefullyAsync(DrainGrace);
        var cpuBefore = cluster.RunningProcessorTime();
        var appended = Stopwatch.StartNew();
        await Parallel.ForEachAsync(
            streams,
            new ParallelOptions { MaxDegreeOfParallelism = CreateParallelism, CancellationToken = cancellationToken },
            async (name, token) => await ExpectSuccessAsync(through.Client.AppendAsync(name, body, OctetStream, token), name));
        var firstAppends = appended.Elapsed;
        var cpu = cluster.RunningProcessorTime() - cpuBefore;
        Console.WriteLine($"Moving {streams.Count} streams (one record each) off a node that leaves with SIGTERM, then one append to each through node 1 ({CreateParallelism} at a time):");
        Console.WriteLine();
        var table = new MarkdownTable("streams", "drain (SIGTERM to exit)", "first append to each", "SIGTERM to all appendable", "server CPU ms/stream (first appends)");
        table.Add(streams.Count, drain, firstAppends, clock.Elapsed, PerOperation(cpu, streams.Count));
        Console.WriteLine(table);
    }

    /// <summary>For each size: N published streams, a one-node cluster over them, then a second node joins.</summary>
    private static async Task MeasureJoinAsync(S3BenchStore store, string scratch, string run, IReadOnlyList<int> sizes, int coldReads, List<string> locations, CancellationToken cancellationToken)
    {
        var table = new MarkdownTable("streams", "seed node ready", "joining node ready", "joiner CPU to ready", "joiner store calls to ready", "cold reads via joiner", "p50 ms", "max ms");
        foreach (var size in sizes)
        {
            var location = $"join-{run}-{size.ToString(CultureInfo.InvariantCulture)}/";
            locations.Add(location);
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var empty = new StreamManifest
            {
                Name = "bench/join/seed",
                Generation = 1,
                ContentType = OctetStream,
                CreatedAtMs = now,
                UpdatedAtMs = now,
                DrainedClean = true,
            };
            var dataSet = await new Replicator(store, Console.Error).WriteAsync(location, [new SeedStream(empty, [])], size, cancellationToken);
            await using var cluster = new BenchCluster(store, location, scratch, []);
            var (_, seedReady) = await cluster.AddNodeAsync(StartTimeout, cancellationToken);
            var (joiner, joinerReady) = await cluster.AddNodeAsync(StartTimeout, cancellationToken);
            var calls = (await joiner.Server.GetStatsAsync(cancellationToken)).Total;
            var latencies = new List<double>();
            foreach (var stream in dataSet.Streams.OrderBy(_ => Random.Shared.Next()).Take(coldReads))
            {
                var started = Stopwatch.GetTimestamp();
                var read = await joiner.Client.ReadAsync(stream.Name, StreamsClient.OffsetBeginning, live: null, cancellationToken);
                if (read.Status != System.Net.HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"reading {stream.Name} through the joining node answered {(int)read.Status}");
                }

                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            var summary = LatencySummary.Of(latencies);
            table.Add(size, seedReady.Healthy, joinerReady.Healthy, joinerReady.ServerCpu, calls, summary.Count, summary.P50, summary.Max);
        }

        Console.WriteLine("A node joining a cluster over N published streams (empty, cleanly drained manifests): process start to /ready, then reads of never-touched streams through it:");
        Console.WriteLine();
        Console.WriteLine(table);
    }

    private static async Task ExpectSuccessAsync(Task<System.Net.HttpStatusCode> append, string stream)
    {
        var status = await append;
        if ((int)status / 100 != 2)
        {
            throw new InvalidOperationException($"append to {stream} answered {(int)status}");
        }
    }

    private static string PerOperation(TimeSpan cpu, int operations) =>
        operations == 0 ? "n/a" : (cpu.TotalMilliseconds / operations).ToString("N2", CultureInfo.InvariantCulture);
}
