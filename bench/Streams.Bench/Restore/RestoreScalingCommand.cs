using System.Globalization;
using System.Security.Cryptography;
using Streams.Actors.Config;
using Streams.Bench.Cli;
using Streams.Bench.Reporting;
using Streams.Bench.Stores;

namespace Streams.Bench.Restore;

/// <summary>
/// <c>restore-scaling</c>: how long a fresh node takes to become healthy over a backlog of N published
/// streams, eager (at several parallelisms) against lazy, with a fixed latency on every object-store call;
/// and how long a lazy node's first read of a never-touched stream takes. Tables go to standard output,
/// progress to standard error.
/// </summary>
public static class RestoreScalingCommand
{
    public const string Name = "restore-scaling";

    private const string SeedLocation = "seed";
    private const double TargetLazyHealthyMs = 1000;
    // "Flat": the largest backlog may take at most this much longer to healthy than the smallest.
    private const double FlatnessTolerance = 1.5;
    private const double TargetEagerSpeedup = 20;
    private const int StoreProbeSamples = 500;

    public static async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var storeKind = args.String("store", "s3");
        var counts = args.IntList("streams", [100, 1_000, 10_000], minimum: 1);
        var latencyMs = args.Int("latency-ms", 5, minimum: 0);
        var projectMs = args.Int("project-latency-ms", 25, minimum: 0);
        var defaultParallelism = StreamsSettings.Default.RestoreParallelism;
        var parallelisms = args.IntList("parallelism", [1, 8, defaultParallelism, 128], minimum: 1).Distinct().Order().ToList();
        var sequentialMax = args.Int("sequential-max-streams", int.MaxValue, minimum: 0);
        var plan = new SeedPlan(
            args.Int("seed-streams", 4, minimum: 1),
            args.Int("records-per-seed", 60, minimum: 1),
            args.Int("segment-target-rows", 30, minimum: 1));
        var coldReads = args.Int("cold-reads", 50, minimum: 0);
        var runTimeout = TimeSpan.FromSeconds(args.Int("run-timeout-s", 900, minimum: 1));
        var keep = args.Switch("keep");
        var bucket = args.String("s3-bucket", "streams-bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        if (args.Problems() is { Count: > 0 } problems)
        {
            return Usage.Fail(problems);
        }

        var progress = Console.Error;
        using var scratch = new ScratchDirectory(keep);
        BenchStore store;
        switch (storeKind)
        {
            case "local":
                store = new LocalBenchStore(scratch.Path);
                break;
            case "s3":
                var endpoint = S3TestServer.Configured;
                if (endpoint is null)
                {
                    return Usage.Fail(["--store s3 needs STREAMS_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY (source the env file printed by scripts/s3-test-server.sh start)"]);
                }

                var s3 = new S3BenchStore(endpoint, bucket);
                await s3.EnsureBucketAsync(cancellationToken);
                store = s3;
                break;
            default:
                return Usage.Fail([$"--store must be s3 or local, not '{storeKind}'"]);
        }

        await progress.WriteLineAsync($"restore-scaling: {store.Describe()}, scratch {scratch.Path}, {latencyMs} ms per store call");
        var latency = TimeSpan.FromMilliseconds(latencyMs);
        var results = new List<RestoreRunResult>();
        var dataSets = new List<DataSet>();
        var probes = new List<(int Streams, StoreProbeResult Probe)>();
        var seeder = new CorpusSeeder(store, scratch.Path, progress);
        var replicator = new Replicator(store, progress);
        var runner = new RestoreRun(store, scratch.Path, latency, runTimeout, progress);
        var locations = new List<string> { SeedLocation };
        try
        {
            var seeds = await seeder.SeedAsync(SeedLocation, plan, cancellationToken);
            foreach (var count in counts)
            {
                var location = "n" + count.ToString(CultureInfo.InvariantCulture);
                locations.Add(location);
                var data = await replicator.WriteAsync(location, seeds, count, cancellationToken);
                dataSets.Add(data);
                var probe = await StoreProbe.RunAsync(store, data, Math.Min(StoreProbeSamples, count), defaultParallelism, cancellationToken);
                probes.Add((count, probe));
                await progress.WriteLineAsync(
                    $"  store alone: GET p50 {probe.Sequential.P50:F1} ms, {probe.GetsPerSecond:F0} GETs/s at {probe.Concurrency} concurrent");
                results.Add(await runner.RunAsync(data, RestoreVariant.Lazy, coldReads, cancellationToken));
                foreach (var parallelism in parallelisms.Where(p => p > 1 || count <= sequentialMax))
                {
                    results.Add(await runner.RunAsync(data, new RestoreVariant(true, parallelism), coldReads: 0, cancellationToken));
                }

                if (!keep)
                {
                    await store.DeleteLocationAsync(location, cancellationToken);
                    locations.Remove(location);
                }
            }
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

        Print(store, plan, latencyMs, projectMs, defaultParallelism, dataSets, probes, results);
        return 0;
    }

    private static void Print(
        BenchStore store,
        SeedPlan plan,
        int latencyMs,
        int projectMs,
        int defaultParallelism,
        IReadOnlyList<DataSet> dataSets,
        IReadOnlyList<(int Streams, StoreProbeResult Probe)> probes,
        IReadOnlyList<RestoreRunResult> results)
    {
        var injected = TimeSpan.FromMilliseconds(latencyMs);
        var target = TimeSpan.FromMilliseconds(projectMs);
        Console.WriteLine($"## restore-scaling ({store.Describe()}, {latencyMs} ms injected per store call)");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineInfo.Describe()}; load average at the end {MachineInfo.LoadAverage()} (1/5/15 min)");
        Console.WriteLine($"Seed: {plan.Streams} streams x {plan.RecordsPerStream} JSON records, segment target {plan.SegmentTargetRows} rows, "
            + $"written through a server; replicated to N streams. Default restore parallelism: {defaultParallelism}.");
        Console.WriteLine();

        Console.WriteLine("Data sets, and the store alone (the server's store client in the benchmark process, no injected latency; "
            + "one manifest GET at a time, then all of them at the default restore parallelism):");
        Console.WriteLine();
        var sets = new MarkdownTable("streams", "objects in store", "replication time", "GET p50 ms", "GET p99 ms", "GETs/s concurrent");
        foreach (var data in dataSets)
        {
            var probe = probes.FirstOrDefault(p => p.Streams == data.Streams.Count).Probe;
            sets.Add(
                data.Streams.Count,
                data.Objects,
                data.WriteTime,
                probe?.Sequential.P50,
                probe?.Sequential.P99,
                probe is null ? null : $"{probe.GetsPerSecond:F0} at {probe.Concurrency}");
        }

        Console.WriteLine(sets);
        Console.WriteLine($"Time to healthy: process start to first `/health` 200, polled over HTTP every 5 ms, backing off to 1% of the time elapsed (at most 100 ms); "
            + "first answer: the first HTTP answer of any status; restore phase: the eager restore's own duration, timed inside the node. "
            + $"Projection to {projectMs} ms per round trip: measured + {projectMs - latencyMs} ms x store calls on the critical path "
            + "(eager: list pages + manifest reads / parallelism)"
            + (store.ExtraRoundTripsPerGet > 0 ? $" + {projectMs} ms x {store.ExtraRoundTripsPerGet} uninjected round trip(s) per GET on it." : "."));
        Console.WriteLine();
        var table = new MarkdownTable("streams", "mode", "parallelism", "store calls", "first answer", "healthy", "restore phase", $"projected @{projectMs} ms", "server CPU at healthy", "SIGTERM to exit", "drain PUTs", "load avg");
        foreach (var result in results)
        {
            table.Add(
                result.Streams,
                result.Variant.Mode,
                result.Variant.ParallelismText,
                result.Stats.Total,
                result.Timings.FirstResponse,
                result.Timings.Healthy,
                result.RestorePhase,
                result.ProjectHealthy(injected, target, store.ExtraRoundTripsPerGet),
                result.Timings.ServerCpu,
                result.StopTime,
                result.DrainPuts?.ToString(CultureInfo.InvariantCulture) ?? "unknown",
                result.LoadBefore);
        }

        Console.WriteLine(table);

        var reads = new MarkdownTable("streams", "reads", "cold p50 ms", "cold p95 ms", "cold max ms", "warm p50 ms", "warm p95 ms", "store calls per cold read", $"cold p50 projected @{projectMs} ms");
        foreach (var result in results.Where(r => r.Reads is not null))
        {
            var probe = result.Reads!;
            reads.Add(
                result.Streams,
                probe.Cold.Count,
                probe.Cold.P50,
                probe.Cold.P95,
                probe.Cold.Max,
                probe.Warm.P50,
                probe.Warm.P95,
                probe.OperationsPerColdRead.ToString("F1", CultureInfo.InvariantCulture),
                probe.ProjectColdP50(injected, target, store.ExtraRoundTripsPerGet));
        }

        Console.WriteLine("First reads on the lazy node (GET from offset -1 of a never-touched stream, one at a time; warm = the same streams again):");
        Console.WriteLine();
        Console.WriteLine(reads);
        PrintTargets(results, defaultParallelism);
    }

    private static void PrintTargets(IReadOnlyList<RestoreRunResult> results, int defaultParallelism)
    {
        var lazy = results.Where(r => !r.Variant.Eager).OrderBy(r => r.Streams).ToList();
        Console.WriteLine("Targets:");
        Console.WriteLine();
        if (lazy.Count > 0)
        {
            var slowest = lazy.Max(r => r.Timings.Healthy.TotalMilliseconds);
            var growth = lazy[^1].Timings.Healthy.TotalMilliseconds / lazy[0].Timings.Healthy.TotalMilliseconds;
            var met = slowest < TargetLazyHealthyMs && growth <= FlatnessTolerance;
            Console.WriteLine(
                $"- lazy time-to-healthy flat in N and under {TargetLazyHealthyMs:F0} ms: {(met ? "MET" : "NOT MET")} "
                + $"(slowest {slowest:F0} ms; N={lazy[^1].Streams} / N={lazy[0].Streams} = {growth:F2}x; at most {FlatnessTolerance:F1}x counts as flat; "
                + $"server CPU at healthy {lazy.Min(r => r.Timings.ServerCpu.TotalMilliseconds):F0}-{lazy.Max(r => r.Timings.ServerCpu.TotalMilliseconds):F0} ms, "
                + $"{lazy.Sum(r => r.Stats.Total)} store calls before healthy)");
        }

        foreach (var group in results.Where(r => r.Variant.Eager).GroupBy(r => r.Streams))
        {
            var sequential = group.FirstOrDefault(r => r.Variant.Parallelism == 1);
            var parallel = group.FirstOrDefault(r => r.Variant.Parallelism == defaultParallelism);
            var best = group.Where(r => r.Variant.Parallelism > 1).MinBy(r => r.Timings.Healthy);
            if (sequential is null || parallel is null || best is null)
            {
                continue;
            }

            var healthyRatio = sequential.Timings.Healthy / parallel.Timings.Healthy;
            var phaseRatio = sequential.RestorePhase / TimeSpan.FromTicks(Math.Max(parallel.RestorePhase.Ticks, 1));
            Console.WriteLine(
                $"- N={group.Key}: eager parallelism {defaultParallelism} vs 1: time-to-healthy {healthyRatio:F1}x faster, restore phase {phaseRatio:F1}x faster "
                + $"(target {TargetEagerSpeedup:F0}x: {(healthyRatio >= TargetEagerSpeedup ? "MET" : "NOT MET")} on time-to-healthy, "
                + $"{(phaseRatio >= TargetEagerSpeedup ? "MET" : "NOT MET")} on the restore phase); best parallelism {best.Variant.Parallelism}: "
                + $"{sequential.Timings.Healthy / best.Timings.Healthy:F1}x");
        }

        Console.WriteLine();
    }
}
