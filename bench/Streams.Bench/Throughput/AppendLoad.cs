using System.Diagnostics;
using System.Net;
using Streams.Bench.Http;
using Streams.Bench.Reporting;

namespace Streams.Bench.Throughput;

/// <summary>
/// One append phase's shape: how many writers, onto which streams, with what body, for how long.
/// <paramref name="RoundRobin"/>: every request goes to the next stream in turn, whichever writer sends
/// it (the many-streams scenario); otherwise writer i always appends to stream i mod M.
/// </summary>
public sealed record AppendPhase(string Label, IReadOnlyList<string> Streams, int Writers, int BodyBytes, TimeSpan Duration, int MaxRequests, bool RoundRobin = false);

/// <summary>A phase's outcome; the server CPU readings are null when the server's process is not known.</summary>
public sealed record AppendPhaseResult(
    AppendPhase Phase, int Succeeded, int Throttled, int Failed, TimeSpan Elapsed, LatencySummary Latency, TimeSpan? CpuBefore, TimeSpan? CpuAfter)
{
    /// <summary>The 1-minute load average when the phase ended.</summary>
    public string Load { get; } = MachineInfo.LoadAverageOneMinute();

    public double AppendsPerSecond => Succeeded / Elapsed.TotalSeconds;

    public double MegabytesPerSecond => (double)Succeeded * Phase.BodyBytes / BytesPerMegabyte / Elapsed.TotalSeconds;

    private const double BytesPerMegabyte = 1_000_000;
}

/// <summary>
/// Concurrent writers appending fixed-size bodies, each writer to one stream (writer i to stream i mod M,
/// so several writers share a stream when there are more writers than streams), or round-robin over all
/// the streams. Bounded by time and by
/// a total request count; a writer finishes the request it has in flight when either bound is reached.
/// </summary>
public static class AppendLoad
{
    private const string ContentType = "application/octet-stream";

    public static async Task<AppendPhaseResult> RunAsync(StreamsClient client, AppendPhase phase, ServerCpu cpu, CancellationToken cancellationToken)
    {
        var issued = 0;
        var nextStream = -1;
        var succeeded = 0;
        var throttled = 0;
        var failed = 0;
        var latencies = new List<double>[phase.Writers];
        var cpuBefore = cpu.Now();
        var stopwatch = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, phase.Writers).Select(writer => Task.Run(
            async () =>
            {
                // Incompressible bodies, so no layer can make the work smaller than the byte count says.
                var body = new byte[phase.BodyBytes];
                Random.Shared.NextBytes(body);
                var ownStream = phase.Streams[writer % phase.Streams.Count];
                var samples = latencies[writer] = [];
                while (stopwatch.Elapsed < phase.Duration && Interlocked.Increment(ref issued) <= phase.MaxRequests)
                {
                    var stream = phase.RoundRobin
                        ? phase.Streams[(int)((uint)Interlocked.Increment(ref nextStream) % (uint)phase.Streams.Count)]
                        : ownStream;
                    var started = Stopwatch.GetTimestamp();
                    HttpStatusCode status;
                    try
                    {
                        status = await client.AppendAsync(stream, body, ContentType, cancellationToken);
                    }
                    catch (HttpRequestException)
                    {
                        Interlocked.Increment(ref failed);
                        continue;
                    }

                    if ((int)status / 100 == 2)
                    {
                        // Only acknowledged appends count: a quick refusal would flatter the latency.
                        samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                        Interlocked.Increment(ref succeeded);
                    }
                    else if (status == HttpStatusCode.TooManyRequests)
                    {
                        // Upload backpressure: the server refuses appends while too much is unpublished.
                        Interlocked.Increment(ref throttled);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            },
            cancellationToken)).ToList();
        await Task.WhenAll(writers);
        var elapsed = stopwatch.Elapsed;
        var cpuAfter = cpu.Now();
        return new AppendPhaseResult(
            phase, succeeded, throttled, failed, elapsed, LatencySummary.Of(latencies.SelectMany(samples => samples)), cpuBefore, cpuAfter);
    }
}
