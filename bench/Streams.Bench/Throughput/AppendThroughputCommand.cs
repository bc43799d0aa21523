using Streams.Bench.Cli;

namespace Streams.Bench.Throughput;

public static class AppendThroughputCommand
{
    public const string Name = "append-throughput";

    public static Task<int> RunAsync(Arguments args, CancellationToken cancellationToken) => Task.FromResult(0);
}
