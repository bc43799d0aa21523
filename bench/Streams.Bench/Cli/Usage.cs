namespace Streams.Bench.Cli;

/// <summary>The help text, and the exit path for bad arguments.</summary>
public static class Usage
{
    public const int BadArguments = 2;

    public const string Text = """
        usage: streams-bench <command> [flags]

        restore-scaling    time-to-healthy of a fresh node over N published streams, eager vs lazy
          --store s3|local             s3 (default) uses STREAMS_TEST_S3_* from scripts/s3-test-server.sh
          --streams 100,1000,10000     backlog sizes
          --latency-ms 5               delay added to every object-store call of the measured node
          --project-latency-ms 25      per-call latency the results are projected to
          --parallelism 1,8,32,128     eager restore parallelisms (32 is the default of streams.restore.parallelism)
          --sequential-max-streams N   skip parallelism 1 above N streams
          --seed-streams 4 --records-per-seed 60 --segment-target-rows 30
          --cold-reads 50              never-touched streams read on the lazy node
          --run-timeout-s 900          per node start
          --s3-bucket NAME             default: streams-bench-<random>
          --keep                       keep the scratch directory and the objects

        append-throughput  appends/s, MB/s and latency of concurrent writers; catch-up read MB/s; long-poll delivery
          --url http://127.0.0.1:PORT  a running server (default: start one on a scratch directory)
          --seconds 10                 per append phase
          --server-pid PID             with --url: the server's process, for its CPU per operation
          --label TEXT                 with --url: names the server in the table heading
          --writers 16 --streams 8     small-body phases (100 B): one stream, 8 streams,
          --many-streams 1000            and round-robin over 1,000 streams
          --only one,few,many,large,catch-up,long-poll   the scenarios to run (default: all)
          --large-writers 4 --large-streams 4   large-body phase (1 MiB)
          --max-requests 200000 --large-max-requests 2000
          --catch-up-mb 50 --catch-up-rounds 3
          --long-poll-samples 200
          --keep                       keep the scratch directory

        cluster            a cluster on the S3 test server (STREAMS_TEST_S3_*): appends/s and catch-up MB/s through
                           the owner and a non-owner, one stream's handoff pause, moving many streams, joining over N
          --nodes 3                    at least 3: the last one leaves for the pause, the one before for the move
          --seconds 10 --writers 16 --streams 8   append phases (100 B bodies), once per node asked
          --catch-up-mb 32 --catch-up-rounds 2
          --move-streams 1000          streams on the node that leaves for the move
          --join-streams 1000,10000    published streams under the cluster a node joins
          --cold-reads 50              never-touched streams read through the joining node
          --s3-bucket NAME             default: streams-bench-<random>
          --keep                       keep the scratch directory and the objects
        """;

    public static int Fail(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"streams-bench: {problem}");
        }

        Console.Error.WriteLine(Text);
        return BadArguments;
    }
}
