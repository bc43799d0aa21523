using System.Diagnostics;
using System.Net;
using Streams.Bench.Http;
using Streams.Bench.Reporting;

namespace Streams.Bench.Throughput;

public sealed record LongPollResult(LatencySummary Delivery, LatencySummary Acknowledged, LatencySummary Ping)
{
    /// <summary>The 1-minute load average when the probe ended.</summary>
    public string Load { get; } = MachineInfo.LoadAverageOneMinute();
}

/// <summary>
/// Append-to-delivery latency: a reader waits in a long-poll at the tail, a writer appends 100 bytes, and
/// the time from just before the append is sent to the reader receiving it is one sample. For scale, the
/// round-trip of a bare <c>GET /health</c> is measured the same number of times.
/// </summary>
public static class LongPollProbe
{
    private const int BodyBytes = 100;
    private const string ContentType = "application/octet-stream";

    // Time for the long-poll request to reach the stream's owner before the append is sent. If it were
    // not there yet, the read would find the record already written and still deliver it.
    private static readonly TimeSpan ReaderSettle = TimeSpan.FromMilliseconds(10);

    public static async Task<LongPollResult> RunAsync(StreamsClient client, string stream, int samples, CancellationToken cancellationToken)
    {
        var body = new byte[BodyBytes];
        Random.Shared.NextBytes(body);
        var tail = (await client.ReadAsync(stream, StreamsClient.OffsetBeginning, live: null, cancellationToken)).NextOffset
            ?? throw new InvalidOperationException($"reading {stream} gave no next offset");
        var delivery = new List<double>(samples);
        var acknowledged = new List<double>(samples);
        for (var sample = 0; sample < samples; sample++)
        {
            var reader = ReadStampedAsync(client, stream, tail, cancellationToken);
            await Task.Delay(ReaderSettle, cancellationToken);
            var sent = Stopwatch.GetTimestamp();
            var status = await client.AppendAsync(stream, body, ContentType, cancellationToken);
            acknowledged.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            if ((int)status / 100 != 2)
            {
                throw new InvalidOperationException($"append to {stream} answered {(int)status}");
            }

            var (read, received) = await reader;
            if (read.Status != HttpStatusCode.OK || read.Body.Length != BodyBytes || read.NextOffset is null)
            {
                throw new InvalidOperationException($"long-poll on {stream} answered {(int)read.Status} with {read.Body.Length} bytes");
            }

            delivery.Add(Stopwatch.GetElapsedTime(sent, received).TotalMilliseconds);
            tail = read.NextOffset;
        }

        var ping = new List<double>(samples);
        for (var sample = 0; sample < samples; sample++)
        {
            var started = Stopwatch.GetTimestamp();
            await client.PingAsync(cancellationToken);
            ping.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return new LongPollResult(LatencySummary.Of(delivery), LatencySummary.Of(acknowledged), LatencySummary.Of(ping));
    }

    private static async Task<(ReadResult Read, long Received)> ReadStampedAsync(
        StreamsClient client, string stream, string offset, CancellationToken cancellationToken)
    {
        var read = await client.ReadAsync(stream, offset, "long-poll", cancellationToken);
        return (read, Stopwatch.GetTimestamp());
    }
}
