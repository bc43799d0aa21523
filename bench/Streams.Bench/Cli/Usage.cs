using System.CommandLine;
using Streams.Api;
using Streams.Bench.Cluster;
using Streams.Bench.Restore;
using Streams.Bench.Serving;
using Streams.Bench.Throughput;
using static Streams.Api.CommandLineSyntax;

namespace Streams.Bench.Cli;

/// <summary>
/// Every subcommand and its flags, declared once in the server's grammar (<see cref="CommandLineSyntax"/>)
/// with the line the help prints; and the exit path for bad arguments. A command reads its flags by name
/// through <see cref="Arguments"/>, which refuses a name not declared here.
/// </summary>
public static class Usage
{
    public const int BadArguments = 2;

    public static RootCommand Root { get; } = CreateRoot();

    /// <summary>The help of every subcommand, one after the other: every flag there is.</summary>
    public static void Write(TextWriter output)
    {
        output.WriteLine("usage: streams-bench <command> [flags]");
        foreach (var command in Root.Subcommands.Where(command => !command.Hidden))
        {
            output.WriteLine();
            WriteHelp(Root, output, command.Name);
        }
    }

    public static int Fail(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"streams-bench: {problem}");
        }

        Write(Console.Error);
        return BadArguments;
    }

    private static RootCommand CreateRoot()
    {
        var root = Root("streams-bench: benchmarks of the Streams server (docs/benchmarks.md).");
        root.Subcommands.Add(new Command(RestoreScalingCommand.Name, "time-to-healthy of a fresh node over N published streams, eager vs lazy")
        {
            Value("--store", "s3 (default) uses STREAMS_TEST_S3_* from scripts/s3-test-server.sh", "s3|local"),
            Value("--streams", "backlog sizes [default: 100,1000,10000]", "100,1000,10000"),
            Value("--latency-ms", "delay added to every object-store call of the measured node [default: 5]", "ms"),
            Value("--project-latency-ms", "per-call latency the results are projected to [default: 25]", "ms"),
            Value("--parallelism", "eager restore parallelisms (32 is the default of streams.restore.parallelism) [default: 1,8,32,128]", "1,8,32,128"),
            Value("--sequential-max-streams", "skip parallelism 1 above N streams", "N"),
            Value("--seed-streams", "distinct streams written and published once, then copied to make the backlog [default: 4]", "N"),
            Value("--records-per-seed", "records appended to each seed stream [default: 60]", "N"),
            Value("--segment-target-rows", "segment size of the seed streams [default: 30]", "N"),
            Value("--cold-reads", "never-touched streams read on the lazy node [default: 50]", "N"),
            Value("--run-timeout-s", "per node start [default: 900]", "s"),
            Value("--s3-bucket", "[default: streams-bench-<random>]", "name"),
            Switch("--keep", "keep the scratch directory and the objects"),
        });
        root.Subcommands.Add(new Command(AppendThroughputCommand.Name, "appends/s, MB/s and latency of concurrent writers; catch-up read MB/s; long-poll delivery")
        {
            Value("--url", "a running server [default: start one on a scratch directory]", "http://127.0.0.1:PORT"),
            Value("--seconds", "per append phase [default: 10]", "s"),
            Value("--server-pid", "with --url: the server's process, for its CPU per operation", "PID"),
            Value("--label", "with --url: names the server in the table heading", "text"),
            Value("--writers", "writers of the small-body phases (100 B) [default: 16]", "N"),
            Value("--streams", "streams of the few-streams phase [default: 8]", "N"),
            Value("--many-streams", "streams written round-robin in the many-streams phase [default: 1000]", "N"),
            Value("--only", "the scenarios to run [default: all]", "one,few,many,large,catch-up,long-poll"),
            Value("--large-writers", "writers of the large-body phase (1 MiB) [default: 4]", "N"),
            Value("--large-streams", "streams of the large-body phase [default: 4]", "N"),
            Value("--max-requests", "bound on the requests of a small-body phase [default: 200000]", "N"),
            Value("--large-max-requests", "bound on the requests of the large-body phase [default: 2000]", "N"),
            Value("--catch-up-mb", "size of the stream read back [default: 50]", "MB"),
            Value("--catch-up-rounds", "reads of it [default: 3]", "N"),
            Value("--catch-up-settle-s", "wait before the first read, so the server has sealed and compacted the seed [default: 0]", "s"),
            Value("--long-poll-samples", "long-poll deliveries timed [default: 200]", "N"),
            Switch("--keep", "keep the scratch directory"),
        });
        root.Subcommands.Add(new Command(ClusterCommand.Name,
            "a cluster on the S3 test server (STREAMS_TEST_S3_*): appends/s and catch-up MB/s through the owner and a non-owner, "
            + "one stream's handoff pause, moving many streams, joining over N")
        {
            Value("--nodes", "at least 3: the last one leaves for the pause, the one before for the move [default: 3]", "N"),
            Value("--seconds", "per append phase (100 B bodies), once per node asked [default: 10]", "s"),
            Value("--writers", "concurrent writers of an append phase [default: 16]", "N"),
            Value("--streams", "streams of an append phase [default: 8]", "N"),
            Value("--catch-up-mb", "size of the stream read back [default: 32]", "MB"),
            Value("--catch-up-rounds", "reads of it [default: 2]", "N"),
            Value("--move-streams", "streams on the node that leaves for the move [default: 1000]", "N"),
            Value("--join-streams", "published streams under the cluster a node joins [default: 1000,10000]", "1000,10000"),
            Value("--cold-reads", "never-touched streams read through the joining node [default: 50]", "N"),
            Value("--s3-bucket", "[default: streams-bench-<random>]", "name"),
            Switch("--keep", "keep the scratch directory and the objects"),
        });
        // The served child of the benchmarks (ServedNode starts it): not one to run by hand.
        root.Subcommands.Add(new Command(ServeCommand.Name, "the server with a counting (and delaying) object store")
        {
            Hidden = true,
            Options = { Value(ServeCommand.LatencyFlag, "delay added to every object-store call [default: 0]", "ms") },
            Arguments = { new Argument<string[]>(ServeCommand.ServerFlagsArgument) { Description = "the server's own flags, after --", Arity = ArgumentArity.ZeroOrMore } },
        });
        return root;
    }
}
