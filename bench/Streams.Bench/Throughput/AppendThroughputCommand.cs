using System.Globalization;
using System.Security.Cryptography;
using Streams.Bench.Cli;
using Streams.Bench.Http;
using Streams.Bench.Reporting;
using Streams.Bench.Serving;

namespace Streams.Bench.Throughput;

/// <summary>
/// <c>append-throughput</c>: concurrent writers appending small (100 B) and large (1 MiB) bodies for a
/// bounded time; a catch-up read of a seeded stream; long-poll append-to-delivery latency. Against
/// <c>--url</c>, or a server started here on a scratch directory with the local object store.
/// </summary>
public static class AppendThroughputCommand
{
    public const string Name = "append-throughput";

    private const int SmallBodyBytes = 100;
    private const int LargeBodyBytes = 1024 * 1024;
    private const string OctetStream = "application/octet-stream";
    private const int WarmUpRequests = 200;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    public static async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        var url = args.String("url");
        var seconds = args.Int("seconds", 10, minimum: 1);
        var writers = args.Int("writers", 16, minimum: 1);
        var streams = args.Int("streams", 8, minimum: 1);
        var largeWriters = args.Int("large-writers", 4, minimum: 1);
        var largeStreams = args.Int("large-streams", 4, minimum: 1);
        var maxRequests = args.Int("max-requests", 200_000, minimum: 1);
        var largeMaxRequests = args.Int("large-max-requests", 2_000, minimum: 1);
        var catchUpMegabytes = args.Int("catch-up-mb", 64, minimum: 1);
        var catchUpRounds = args.Int("catch-up-rounds", 3, minimum: 1);
        var longPollSamples = args.Int("long-poll-samples", 200, minimum: 1);
        var keep = args.Switch("keep");
        if (args.Problems() is { Count: > 0 } problems)
        {
            return Usage.Fail(problems);
        }

        var progress = Console.Error;
        using var scratch = new ScratchDirectory(keep);
        ServedNode? server = null;
        try
        {
            Uri baseAddress;
            string target;
            if (url is null)
            {
                var dataDirectory = Path.Combine(scratch.Path, "node");
                Directory.CreateDirectory(dataDirectory);
                server = ServedNode.Start(dataDirectory, [], TimeSpan.Zero, new Dictionary<string, string>(), Path.Combine(scratch.Path, "node.log"));
                await server.WaitUntilHealthyAsync(StartTimeout, cancellationToken);
                baseAddress = server.BaseAddress;
                target = "a server started by the benchmark (local directory store, default settings)";
            }
            else
            {
                baseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
                target = url;
            }

            await progress.WriteLineAsync($"append-throughput: against {baseAddress}");
            var run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            using var client = new StreamsClient(baseAddress, Math.Max(writers, largeWriters) + 2, RequestTimeout);
            var duration = TimeSpan.FromSeconds(seconds);
            var small = new AppendPhase("100 B", await CreateStreamsAsync(client, run, "small", streams, cancellationToken), writers, SmallBodyBytes, duration, maxRequests);
            var large = new AppendPhase("1 MiB", await CreateStreamsAsync(client, run, "large", largeStreams, cancellationToken), largeWriters, LargeBodyBytes, duration, largeMaxRequests);

            // Not measured: lets the JIT and the connection pool settle before the first timed phase.
            await AppendLoad.RunAsync(client, small with { MaxRequests = WarmUpRequests }, cancellationToken);
            var appends = new List<AppendPhaseResult>();
            foreach (var phase in (AppendPhase[])[small, large])
            {
                await progress.WriteLineAsync($"  appending {phase.Label} bodies: {phase.Writers} writers, {phase.Streams.Count} streams, {seconds} s");
                appends.Add(await AppendLoad.RunAsync(client, phase, cancellationToken));
            }

            var catchUpStream = (await CreateStreamsAsync(client, run, "catch-up", 1, cancellationToken))[0];
            await progress.WriteLineAsync($"  seeding {catchUpMegabytes} MiB for the catch-up read");
            var seedBody = new byte[LargeBodyBytes];
            Random.Shared.NextBytes(seedBody);
            for (var i = 0; i < catchUpMegabytes; i++)
            {
                var status = await client.AppendAsync(catchUpStream, seedBody, OctetStream, cancellationToken);
                if ((int)status / 100 != 2)
                {
                    throw new InvalidOperationException($"seeding {catchUpStream} answered {(int)status}");
                }
            }

            var catchUps = new List<CatchUpResult>();
            for (var round = 1; round <= catchUpRounds; round++)
            {
                catchUps.Add(await CatchUpReader.ReadAllAsync(client, catchUpStream, round, (long)catchUpMegabytes * LargeBodyBytes, cancellationToken));
            }

            var longPollStream = (await CreateStreamsAsync(client, run, "long-poll", 1, cancellationToken))[0];
            await progress.WriteLineAsync($"  long-poll delivery: {longPollSamples} samples");
            var longPoll = await LongPollProbe.RunAsync(client, longPollStream, longPollSamples, cancellationToken);
            Print(target, appends, catchUps, catchUpMegabytes, longPoll);
            return 0;
        }
        finally
        {
            if (server is not null)
            {
                // The node's data directory is discarded with the scratch directory: no drain needed.
                await server.DisposeAsync();
            }
        }
    }

    private static async Task<IReadOnlyList<string>> CreateStreamsAsync(StreamsClient client, string run, string kind, int count, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var name = $"bench/{run}/{kind}-{i.ToString(CultureInfo.InvariantCulture)}";
            await client.CreateAsync(name, OctetStream, cancellationToken);
            names.Add(name);
        }

        return names;
    }

    private static void Print(string target, IReadOnlyList<AppendPhaseResult> appends, IReadOnlyList<CatchUpResult> catchUps, int catchUpMegabytes, LongPollResult longPoll)
    {
        Console.WriteLine($"## append-throughput ({target})");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineInfo.Describe()}; load average {MachineInfo.LoadAverage()}");
        Console.WriteLine();
        var table = new MarkdownTable("body", "writers", "streams", "duration", "appends", "appends/s", "MB/s", "p50 ms", "p99 ms", "max ms", "429", "errors");
        foreach (var result in appends)
        {
            table.Add(
                result.Phase.Label,
                result.Phase.Writers,
                result.Phase.Streams.Count,
                result.Elapsed,
                result.Succeeded,
                result.AppendsPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                result.MegabytesPerSecond.ToString("N1", CultureInfo.InvariantCulture),
                result.Latency.P50,
                result.Latency.P99,
                result.Latency.Max,
                result.Throttled,
                result.Failed);
        }

        Console.WriteLine(table);
        Console.WriteLine($"Catch-up read of a {catchUpMegabytes} MiB stream (1 MiB records) from offset -1, page after page until up to date:");
        Console.WriteLine();
        var reads = new MarkdownTable("round", "bytes", "requests", "time", "MB/s");
        foreach (var round in catchUps)
        {
            reads.Add(round.Round, round.Bytes, round.Requests, round.Elapsed, round.MegabytesPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        }

        Console.WriteLine(reads);
        Console.WriteLine("Long-poll: append of 100 B to delivery at a reader waiting at the tail (one reader, one writer); ping = GET /health:");
        Console.WriteLine();
        var live = new MarkdownTable("measure", "samples", "p50 ms", "p99 ms", "max ms");
        live.Add("append -> long-poll delivery", longPoll.Delivery.Count, longPoll.Delivery.P50, longPoll.Delivery.P99, longPoll.Delivery.Max);
        live.Add("ping", longPoll.Ping.Count, longPoll.Ping.P50, longPoll.Ping.P99, longPoll.Ping.Max);
        Console.WriteLine(live);
    }
}
