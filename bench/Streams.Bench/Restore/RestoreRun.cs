using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Streams.Bench.Http;
using Streams.Bench.Reporting;
using Streams.Bench.Serving;
using Streams.Bench.Stores;

namespace Streams.Bench.Restore;

/// <summary>One way of starting a node over a data set: eager with a parallelism, or lazy.</summary>
public sealed record RestoreVariant(bool Eager, int Parallelism)
{
    public static RestoreVariant Lazy { get; } = new(false, 0);

    public string Mode => Eager ? "eager" : "lazy";

    public string ParallelismText => Eager ? Parallelism.ToString(CultureInfo.InvariantCulture) : "-";
}

/// <summary>First reads on a lazy node: never-touched streams (cold), then the same streams again (warm).</summary>
public sealed record ReadProbeResult(LatencySummary Cold, LatencySummary Warm, double OperationsPerColdRead, double GetsPerColdRead, string CallBreakdown)
{
    /// <summary>The cold p50 with every round trip at <paramref name="target"/> (as <see cref="RestoreRunResult.ProjectHealthy"/>).</summary>
    public double ProjectColdP50(TimeSpan injected, TimeSpan target, int extraRoundTripsPerGet) =>
        Cold.P50 + ((target - injected).TotalMilliseconds * OperationsPerColdRead) + (target.TotalMilliseconds * extraRoundTripsPerGet * GetsPerColdRead);
}

public sealed record RestoreRunResult(
    int Streams,
    string LoadBefore,
    RestoreVariant Variant,
    HealthTimings Timings,
    ServerStats Stats,
    ReadProbeResult? Reads,
    TimeSpan StopTime,
    int? DrainPuts)
{
    /// <summary>The eager restore's own duration, timed inside the node; zero for a lazy node.</summary>
    public TimeSpan RestorePhase => Stats.RestoreElapsed ?? TimeSpan.Zero;

    /// <summary>
    /// Object-store calls on the critical path to healthy: listing pages run one after another, manifest
    /// reads in <see cref="RestoreVariant.Parallelism"/> concurrent lanes. Each gains the extra latency once.
    /// </summary>
    public double CriticalPathOperations => Variant.Eager
        ? Stats.Lists + Math.Ceiling((double)(Stats.Gets + Stats.Heads) / Variant.Parallelism)
        : Stats.Total;

    /// <summary>The GETs among <see cref="CriticalPathOperations"/>, which may cost more than one round trip.</summary>
    public double CriticalPathGets => Variant.Eager ? Math.Ceiling((double)Stats.Gets / Variant.Parallelism) : Stats.Gets;

    /// <summary>
    /// Time-to-healthy if every store round trip took <paramref name="target"/>: each call already carried
    /// the injected latency once and gains the difference; the round trips the injector does not see (see
    /// <see cref="BenchStore.ExtraRoundTripsPerGet"/>) gain the whole target.
    /// </summary>
    public TimeSpan ProjectHealthy(TimeSpan injected, TimeSpan target, int extraRoundTripsPerGet) =>
        Timings.Healthy + ((target - injected) * CriticalPathOperations) + (target * (extraRoundTripsPerGet * CriticalPathGets));
}

/// <summary>
/// Starts a node on an empty data directory over a data set, with a fixed latency added to every
/// object-store call, and times it from process start to the first <c>/health</c> 200 (polled over HTTP).
/// On a lazy node it then times first reads. Then the node is stopped with SIGTERM and its drain is timed.
/// </summary>
public sealed class RestoreRun(BenchStore store, string scratch, TimeSpan injectedLatency, TimeSpan timeout, TextWriter progress)
{
    private const string ReadProbeContentCheck = "a JSON array";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private const int RestoreClockAttempts = 100;
    private static readonly TimeSpan RestoreClockPause = TimeSpan.FromMilliseconds(10);

    // Beyond the server's own drain timeout (streams.drain-timeout, 60 s): the server should give up first.
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(90);
    private const int ProbeConnections = 4;
    private int runNumber;

    public async Task<RestoreRunResult> RunAsync(DataSet data, RestoreVariant variant, int coldReads, CancellationToken cancellationToken)
    {
        var run = Interlocked.Increment(ref runNumber);
        var label = $"n{data.Streams.Count}-{variant.Mode}{(variant.Eager ? "-p" + variant.ParallelismText : string.Empty)}-{run}";
        var dataDirectory = Path.Combine(scratch, label);
        Directory.CreateDirectory(dataDirectory);
        List<string> flags = [.. store.ServerFlags(data.Location)];
        if (variant.Eager)
        {
            flags.AddRange(["--bootstrap-from-object-store", "--restore-parallelism", variant.ParallelismText]);
        }
        else
        {
            flags.Add("--lazy-restore");
        }

        var load = MachineInfo.LoadAverageOneMinute();
        await progress.WriteLineAsync($"  {label}: starting (load average {load})");
        try
        {
            await using var server = ServedNode.Start(dataDirectory, flags, injectedLatency, store.ServerEnvironment(), Path.Combine(scratch, label + ".log"));
            var timings = await server.WaitUntilHealthyAsync(timeout, cancellationToken);
            var stats = await server.GetStatsAsync(cancellationToken);
            // The node's restore clock polls the restore status, so it may record the end a moment
            // after /health has already said 200.
            for (var attempt = 0; variant.Eager && stats.RestoreElapsed is null && attempt < RestoreClockAttempts; attempt++)
            {
                await Task.Delay(RestoreClockPause, cancellationToken);
                stats = await server.GetStatsAsync(cancellationToken);
            }

            await progress.WriteLineAsync(
                $"  {label}: healthy after {timings.Healthy.TotalMilliseconds:F0} ms (first answer {timings.FirstResponse.TotalMilliseconds:F0} ms, server CPU {timings.ServerCpu.TotalMilliseconds:F0} ms), "
                + $"{stats.Total} store calls, restored {stats.RestoreDone}/{stats.RestoreTotal}, {stats.RestoreFailed} failed");
            if (variant.Eager && (stats.RestoreDone != data.Streams.Count || stats.RestoreFailed != 0))
            {
                throw new InvalidOperationException(
                    $"eager restore finished with {stats.RestoreDone} of {data.Streams.Count} streams restored and {stats.RestoreFailed} quarantined; see {server.LogPath}");
            }

            ReadProbeResult? reads = null;
            if (!variant.Eager && coldReads > 0)
            {
                reads = await ProbeReadsAsync(server, data, coldReads, stats, cancellationToken);
                await progress.WriteLineAsync(
                    $"  {label}: cold read p50 {reads.Cold.P50:F1} ms p95 {reads.Cold.P95:F1} ms, warm p50 {reads.Warm.P50:F1} ms, "
                    + $"{reads.OperationsPerColdRead:F1} store calls per cold read ({reads.CallBreakdown} for {coldReads} reads)");
            }

            // A deploy stops the old node too: time its SIGTERM drain and count what the drain wrote.
            var beforeStop = await server.GetStatsAsync(cancellationToken);
            var stopTime = await server.StopGracefullyAsync(DrainGrace);
            int? drainPuts = server.FinalCalls is { } calls && calls.TryGetValue("put", out var puts) ? puts - beforeStop.Puts : null;
            await progress.WriteLineAsync($"  {label}: SIGTERM to exit {stopTime.TotalMilliseconds:F0} ms, {drainPuts?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} puts by the drain");
            return new RestoreRunResult(data.Streams.Count, load, variant, timings, stats, reads, stopTime, drainPuts);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    private static async Task<ReadProbeResult> ProbeReadsAsync(
        ServedNode server, DataSet data, int count, ServerStats before, CancellationToken cancellationToken)
    {
        count = Math.Min(count, data.Streams.Count);
        // Spread over the whole data set, so that seeds and copies, early and late keys, all take part.
        var picked = Enumerable.Range(0, count).Select(i => data.Streams[(int)((long)i * data.Streams.Count / count)]).ToList();
        using var client = new StreamsClient(server.BaseAddress, ProbeConnections, RequestTimeout);
        var cold = await TimeReadsAsync(client, picked, cancellationToken);
        var after = await server.GetStatsAsync(cancellationToken);
        var warm = await TimeReadsAsync(client, picked, cancellationToken);
        var breakdown = $"{after.Gets - before.Gets} get, {after.Heads - before.Heads} head, {after.Lists - before.Lists} list, "
            + $"{after.Puts - before.Puts} put, {after.Deletes - before.Deletes} delete";
        return new ReadProbeResult(
            LatencySummary.Of(cold), LatencySummary.Of(warm), (double)(after.Total - before.Total) / count, (double)(after.Gets - before.Gets) / count, breakdown);
    }

    /// <summary>Reads each stream from the beginning, one after another, and checks it holds every record.</summary>
    private static async Task<List<double>> TimeReadsAsync(StreamsClient client, IReadOnlyList<ReplicatedStream> streams, CancellationToken cancellationToken)
    {
        var samples = new List<double>(streams.Count);
        foreach (var stream in streams)
        {
            var stopwatch = Stopwatch.StartNew();
            var read = await client.ReadAsync(stream.Name, StreamsClient.OffsetBeginning, live: null, cancellationToken);
            samples.Add(stopwatch.Elapsed.TotalMilliseconds);
            if (read.Status != HttpStatusCode.OK || read.NextOffset is null || StreamsClient.Position(read.NextOffset) != stream.RecordCount)
            {
                throw new InvalidOperationException(
                    $"reading {stream.Name} answered {(int)read.Status} with next offset {read.NextOffset}; expected {stream.RecordCount} records");
            }

            using var json = JsonDocument.Parse(read.Body);
            if (json.RootElement.ValueKind != JsonValueKind.Array || json.RootElement.GetArrayLength() != stream.RecordCount)
            {
                throw new InvalidOperationException($"reading {stream.Name} did not return {ReadProbeContentCheck} of {stream.RecordCount} records");
            }
        }

        return samples;
    }
}
