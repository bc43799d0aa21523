using System.Diagnostics;
using Streams.Actors.ObjectStore;
using Streams.Bench.Reporting;
using Streams.Bench.Stores;

namespace Streams.Bench.Restore;

/// <summary>The store alone: one manifest GET at a time, and how many GETs per second it serves concurrently.</summary>
public sealed record StoreProbeResult(LatencySummary Sequential, int Concurrency, double GetsPerSecond);

/// <summary>
/// Measures the object store from the benchmark process with the same client the server uses and no
/// injected latency, so that a restore's time can be set against what the store itself allows: a restore
/// at parallelism P cannot be faster than the store's own GET rate at that concurrency.
/// </summary>
public static class StoreProbe
{
    public static async Task<StoreProbeResult> RunAsync(BenchStore store, DataSet data, int samples, int concurrency, CancellationToken cancellationToken)
    {
        var objects = store.Open(data.Location);
        using var lease = objects as IDisposable;
        var keys = Enumerable.Range(0, samples)
            .Select(i => ObjectStoreKeys.ManifestKey(data.Streams[(int)((long)i * data.Streams.Count / samples)].Name))
            .ToList();
        var sequential = new List<double>(samples);
        foreach (var key in keys)
        {
            var started = Stopwatch.GetTimestamp();
            _ = await objects.GetAsync(key, cancellationToken) ?? throw new InvalidOperationException($"{key} is missing");
            sequential.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(
            keys,
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (key, token) => _ = await objects.GetAsync(key, token));
        return new StoreProbeResult(LatencySummary.Of(sequential), concurrency, keys.Count / stopwatch.Elapsed.TotalSeconds);
    }
}
