using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Streams.Bench.Cli;
using Streams.Bench.Http;
using Streams.Bench.Reporting;
using Streams.Bench.Serving;

namespace Streams.Bench.Throughput;

/// <summary>
/// <c>append-throughput</c>: concurrent writers appending small (100 B) bodies to one stream, to a few
/// streams and round-robin to many, and large (1 MiB) bodies, each for a bounded time; a catch-up read of
/// a seeded stream; long-poll append-to-delivery latency. Against <c>--url</c> (any server of the
/// protocol; <c>--server-pid</c> adds its CPU per operation), or a server started here on a scratch
/// directory with the local object store.
/// </summary>
public static class AppendThroughputCommand
{
    public const string Name = "append-throughput";

    private const int SmallBodyBytes = 100;
    private const int LargeBodyBytes = 1024 * 1024;
    private const string OctetStream = "application/octet-stream";
    private const int WarmUpRequests = 2_000;
    private const string OneStreamScenario = "one";
    private const string FewStreamsScenario = "few";
    private const string ManyStreamsScenario = "many";
    private const string LargeScenario = "large";
    private const string CatchUpScenario = "catch-up";
    private const string LongPollScenario = "long-poll";
    private static readonly string[] Scenarios = [OneStreamScenario, FewStreamsScenario, ManyStreamsScenario, LargeScenario, CatchUpScenario, LongPollScenario];
    private const double BytesPerMegabyte = 1_000_000;
    private const double MicrosecondsPerMillisecond = 1_000;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan BackpressureTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan BackpressureRetryDelay = TimeSpan.FromMilliseconds(50);

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
        var manyStreams = args.Int("many-streams", 1_000, minimum: 1);
        var serverPid = args.String("server-pid") is { } pidText && int.TryParse(pidText, CultureInfo.InvariantCulture, out var pid) ? pid : (int?)null;
        var label = args.String("label");
        var catchUpMegabytes = args.Int("catch-up-mb", 50, minimum: 1);
        var catchUpRounds = args.Int("catch-up-rounds", 3, minimum: 1);
        var catchUpSettle = TimeSpan.FromSeconds(args.Int("catch-up-settle-s", 0, minimum: 0));
        var longPollSamples = args.Int("long-poll-samples", 200, minimum: 1);
        var only = (args.String("only") ?? string.Join(',', Scenarios)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var keep = args.Switch("keep");
        if (only.Except(Scenarios).ToList() is { Count: > 0 } unknown)
        {
            return Usage.Fail([$"--only: unknown scenario(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Scenarios)}"]);
        }

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
                serverPid = server.ProcessId;
            }
            else
            {
                baseAddress = new Uri(url.EndsWith('/') ? url : url + "/");
                target = label is null ? url : $"{label}, {url}";
            }

            var cpu = new ServerCpu(serverPid);

            await progress.WriteLineAsync($"append-throughput: against {baseAddress}");
            var run = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            using var client = new StreamsClient(baseAddress, Math.Max(writers, largeWriters) + 2, RequestTimeout);
            var duration = TimeSpan.FromSeconds(seconds);
            var small = new AppendPhase("100 B", await CreateStreamsAsync(client, run, "small", streams, cancellationToken), writers, SmallBodyBytes, duration, maxRequests);
            var phases = new List<AppendPhase>();
            if (only.Contains(OneStreamScenario))
            {
                phases.Add(new AppendPhase("100 B", await CreateStreamsAsync(client, run, "one", 1, cancellationToken), writers, SmallBodyBytes, duration, maxRequests));
            }

            if (only.Contains(FewStreamsScenario))
            {
                phases.Add(small);
            }

            if (only.Contains(ManyStreamsScenario))
            {
                await progress.WriteLineAsync($"  creating {manyStreams} streams for the round-robin phase");
                phases.Add(new AppendPhase(
                    "100 B, round-robin",
                    await CreateStreamsAsync(client, run, "many", manyStreams, cancellationToken, parallelism: writers),
                    writers,
                    SmallBodyBytes,
                    duration,
                    maxRequests,
                    RoundRobin: true));
            }

            if (only.Contains(LargeScenario))
            {
                phases.Add(new AppendPhase("1 MiB", await CreateStreamsAsync(client, run, "large", largeStreams, cancellationToken), largeWriters, LargeBodyBytes, duration, largeMaxRequests));
            }

            // Not measured: lets the JIT and the connection pool settle before the first timed phase.
            await AppendLoad.RunAsync(client, small with { MaxRequests = WarmUpRequests }, cpu, cancellationToken);
            var appends = new List<AppendPhaseResult>();
            foreach (var phase in phases)
            {
                await progress.WriteLineAsync($"  appending {phase.Label} bodies: {phase.Writers} writers, {phase.Streams.Count} streams, {seconds} s");
                appends.Add(await AppendLoad.RunAsync(client, phase, cpu, cancellationToken));
            }

            var catchUps = only.Contains(CatchUpScenario)
                ? await CatchUpAsync(client, run, catchUpMegabytes, catchUpRounds, catchUpSettle, cpu, cancellationToken)
                : [];
            LongPollResult? longPoll = null;
            if (only.Contains(LongPollScenario))
            {
                var longPollStream = (await CreateStreamsAsync(client, run, "long-poll", 1, cancellationToken))[0];
                await progress.WriteLineAsync($"  long-poll delivery: {longPollSamples} samples");
                longPoll = await LongPollProbe.RunAsync(client, longPollStream, longPollSamples, cancellationToken);
            }

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

    private static async Task<IReadOnlyList<CatchUpResult>> CatchUpAsync(
        StreamsClient client, string run, int catchUpMegabytes, int catchUpRounds, TimeSpan settle, ServerCpu cpu, CancellationToken cancellationToken)
    {
        var catchUpStream = (await CreateStreamsAsync(client, run, "catch-up", 1, cancellationToken))[0];
        await Console.Error.WriteLineAsync($"  seeding {catchUpMegabytes} MiB for the catch-up read");
        var seedBody = new byte[LargeBodyBytes];
        Random.Shared.NextBytes(seedBody);
        for (var i = 0; i < catchUpMegabytes; i++)
        {
            await AppendWaitingOutBackpressureAsync(client, catchUpStream, seedBody, cancellationToken);
        }

        if (settle > TimeSpan.Zero)
        {
            // Lets the server seal, publish and compact the seeded records first, so that the rounds
            // read settled segments rather than race the pipeline rewriting them.
            await Console.Error.WriteLineAsync($"  waiting {settle.TotalSeconds:N0} s before reading");
            await Task.Delay(settle, cancellationToken);
        }

        var catchUps = new List<CatchUpResult>();
        for (var round = 1; round <= catchUpRounds; round++)
        {
            catchUps.Add(await CatchUpReader.ReadAllAsync(client, catchUpStream, round, (long)catchUpMegabytes * LargeBodyBytes, cpu, cancellationToken));
        }

        return catchUps;
    }

    /// <summary>
    /// Appends one body, retrying while the server answers 429: the large-body phase can leave more
    /// unpublished data than the server accepts until its uploader catches up.
    /// </summary>
    private static async Task AppendWaitingOutBackpressureAsync(StreamsClient client, string stream, byte[] body, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = await client.AppendAsync(stream, body, OctetStream, cancellationToken);
            if ((int)status / 100 == 2)
            {
                return;
            }

            if (status != HttpStatusCode.TooManyRequests || deadline.Elapsed > BackpressureTimeout)
            {
                throw new InvalidOperationException($"seeding {stream} answered {(int)status}");
            }

            await Task.Delay(BackpressureRetryDelay, cancellationToken);
        }
    }

    private static async Task<IReadOnlyList<string>> CreateStreamsAsync(
        StreamsClient client, string run, string kind, int count, CancellationToken cancellationToken, int parallelism = 1)
    {
        var names = Enumerable.Range(0, count).Select(i => $"bench/{run}/{kind}-{i.ToString(CultureInfo.InvariantCulture)}").ToList();
        await Parallel.ForEachAsync(
            names,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (name, token) => await client.CreateAsync(name, OctetStream, token));
        return names;
    }

    private static void Print(string target, IReadOnlyList<AppendPhaseResult> appends, IReadOnlyList<CatchUpResult> catchUps, int catchUpMegabytes, LongPollResult? longPoll)
    {
        Console.WriteLine($"## append-throughput ({target})");
        Console.WriteLine();
        Console.WriteLine($"Machine: {MachineInfo.Describe()}; load average {MachineInfo.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("Server CPU: the server process's user + system time over the phase (from /proc/<pid>/stat), as a share of one core and per acknowledged append.");
        Console.WriteLine();
        var table = new MarkdownTable(
            "body", "writers", "streams", "duration", "appends", "appends/s", "MB/s", "p50 ms", "p99 ms", "max ms", "429", "errors", "server CPU", "CPU µs/append", "load");
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
                result.Failed,
                ServerCpu.Share(result.CpuBefore, result.CpuAfter, result.Elapsed),
                ServerCpu.PerOperation(result.CpuBefore, result.CpuAfter, result.Succeeded),
                result.Load);
        }

        if (appends.Count > 0)
        {
            Console.WriteLine(table);
        }

        if (catchUps.Count > 0)
        {
            PrintCatchUps(catchUps, catchUpMegabytes);
        }

        if (longPoll is not null)
        {
            PrintLongPoll(longPoll);
        }
    }

    private static void PrintCatchUps(IReadOnlyList<CatchUpResult> catchUps, int catchUpMegabytes)
    {
        Console.WriteLine($"Catch-up read of a {catchUpMegabytes} MiB stream (1 MiB records) from offset -1, page after page until up to date:");
        Console.WriteLine();
        Console.WriteLine("Client CPU: the benchmark process's own user + system time over the round (it runs on the same cores as the server).");
        Console.WriteLine();
        var reads = new MarkdownTable("round", "bytes", "requests", "time", "MB/s", "server CPU ms per MB", "client CPU ms per MB", "load");
        foreach (var round in catchUps)
        {
            reads.Add(
                round.Round,
                round.Bytes,
                round.Requests,
                round.Elapsed,
                round.MegabytesPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                ServerCpu.PerOperation(round.CpuBefore, round.CpuAfter, round.Bytes, unitsPerOperation: BytesPerMegabyte / MicrosecondsPerMillisecond, format: "N1"),
                ServerCpu.PerOperation(round.ClientCpu, round.Bytes, unitsPerOperation: BytesPerMegabyte / MicrosecondsPerMillisecond, format: "N1"),
                round.Load);
        }

        Console.WriteLine(reads);
    }

    private static void PrintLongPoll(LongPollResult longPoll)
    {
        Console.WriteLine("Long-poll: append of 100 B to delivery at a reader waiting at the tail (one reader, one writer); ping = GET /health:");
        Console.WriteLine();
        var live = new MarkdownTable("measure", "samples", "p50 ms", "p99 ms", "max ms", "load");
        live.Add("append -> long-poll delivery", longPoll.Delivery.Count, longPoll.Delivery.P50, longPoll.Delivery.P99, longPoll.Delivery.Max, longPoll.Load);
        live.Add("append -> its acknowledgement (commit with fsync included)", longPoll.Acknowledged.Count, longPoll.Acknowledged.P50, longPoll.Acknowledged.P99, longPoll.Acknowledged.Max, longPoll.Load);
        live.Add("ping", longPoll.Ping.Count, longPoll.Ping.P50, longPoll.Ping.P99, longPoll.Ping.Max, longPoll.Load);
        Console.WriteLine(live);
    }
}
