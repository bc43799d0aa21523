using System.Diagnostics;
using System.Net;
using Streams.Bench.Http;
using Streams.Bench.Reporting;

namespace Streams.Bench.Throughput;

public sealed record CatchUpResult(int Round, long Bytes, int Requests, TimeSpan Elapsed, TimeSpan? CpuBefore, TimeSpan? CpuAfter, TimeSpan ClientCpu)
{
    private const double BytesPerMegabyte = 1_000_000;

    /// <summary>The 1-minute load average when the round ended.</summary>
    public string Load { get; } = MachineInfo.LoadAverageOneMinute();

    public double MegabytesPerSecond => Bytes / BytesPerMegabyte / Elapsed.TotalSeconds;
}

/// <summary>
/// Reads a whole stream from the beginning the way a catching-up client does: one request after
/// another, each from the previous response's next offset, until the server says it is up to date.
/// </summary>
public static class CatchUpReader
{
    // A stream of a few hundred MiB needs a few hundred pages; anything far beyond means no progress.
    private const int MaxRequests = 100_000;

    // What the reader takes from the connection at a time: large enough that a read call moves many
    // TCP segments, small enough to stay in the CPU's caches.
    private const int ReadBufferBytes = 256 * 1024;

    public static async Task<CatchUpResult> ReadAllAsync(StreamsClient client, string stream, int round, long expectedBytes, ServerCpu cpu, CancellationToken cancellationToken)
    {
        var cpuBefore = cpu.Now();
        var clientCpuBefore = Environment.CpuUsage.TotalTime;
        var offset = StreamsClient.OffsetBeginning;
        long bytes = 0;
        var requests = 0;
        var buffer = new byte[ReadBufferBytes];
        var stopwatch = Stopwatch.StartNew();
        while (requests < MaxRequests)
        {
            var read = await client.ReadPageAsync(stream, offset, buffer, cancellationToken);
            requests++;
            if (read.Status != HttpStatusCode.OK || read.NextOffset is null)
            {
                throw new InvalidOperationException($"catch-up read of {stream} at {offset} answered {(int)read.Status}");
            }

            bytes += read.BodyLength;
            offset = read.NextOffset;
            if (read.UpToDate)
            {
                break;
            }
        }

        var elapsed = stopwatch.Elapsed;
        var cpuAfter = cpu.Now();
        var clientCpu = Environment.CpuUsage.TotalTime - clientCpuBefore;
        if (bytes != expectedBytes)
        {
            throw new InvalidOperationException($"catch-up read of {stream} returned {bytes} bytes, expected {expectedBytes}");
        }

        return new CatchUpResult(round, bytes, requests, elapsed, cpuBefore, cpuAfter, clientCpu);
    }
}
