using System.Globalization;
using System.Text.RegularExpressions;
using Streams.Bench.Http;
using Streams.Bench.Serving;
using Streams.Bench.Stores;

namespace Streams.Bench.Cluster;

/// <summary>One served cluster member: its number, remoting port, process and a client of its own.</summary>
public sealed record BenchNode(int Number, int RemotingPort, ServedNode Server, StreamsClient Client)
{
    /// <summary>Whether an <c>owner_node</c> value (a remoting address or an HTTP URL) names this node.</summary>
    public bool IsNamedBy(string owner) =>
        NamesPort(owner, RemotingPort) || NamesPort(owner, Server.BaseAddress.Port);

    public override string ToString() => $"node {Number}";

    private static bool NamesPort(string owner, int port) =>
        Regex.IsMatch(owner, $@"(127\.0\.0\.1|localhost):{port.ToString(CultureInfo.InvariantCulture)}(?!\d)");
}

/// <summary>
/// Server processes (the benchmark's <c>serve</c>, so object-store calls are counted) joined into one
/// Akka cluster on loopback, all on one object-store location. Node 1 is the seed.
/// </summary>
public sealed class BenchCluster(BenchStore store, string location, string scratch, IReadOnlyList<string> flags) : IAsyncDisposable
{
    public const string ReadyPath = "ready";
    private const string Loopback = "127.0.0.1";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);
    private const int ClientConnections = 32;

    private readonly List<BenchNode> nodes = [];
    private int seedPort;

    public IReadOnlyList<BenchNode> Nodes => nodes;

    public IReadOnlyList<BenchNode> Running => nodes.Where(node => !node.Server.HasExited).ToList();

    /// <summary>Starts one more node (the first one seeds the cluster) and returns it once <c>/ready</c> says 200, with the timings.</summary>
    public async Task<(BenchNode Node, HealthTimings Ready)> AddNodeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var number = nodes.Count + 1;
        var remotingPort = FreeLoopbackPort();
        if (number == 1)
        {
            seedPort = remotingPort;
        }

        var dataDirectory = Path.Combine(scratch, $"{location.TrimEnd('/')}-node-{number}");
        Directory.CreateDirectory(dataDirectory);
        string[] nodeFlags =
        [
            .. store.ServerFlags(location),
            "--cluster-host", Loopback,
            "--cluster-port", remotingPort.ToString(CultureInfo.InvariantCulture),
            "--cluster-seed-nodes", $"akka.tcp://streams@{Loopback}:{seedPort.ToString(CultureInfo.InvariantCulture)}",
            .. flags,
        ];
        var server = ServedNode.Start(dataDirectory, nodeFlags, TimeSpan.Zero, store.ServerEnvironment(), dataDirectory + ".log", ReadyPath);
        var node = new BenchNode(number, remotingPort, server, new StreamsClient(server.BaseAddress, ClientConnections, RequestTimeout));
        nodes.Add(node);
        var ready = await server.WaitUntilHealthyAsync(timeout, cancellationToken);
        return (node, ready);
    }

    public async Task<BenchNode> OwnerOfAsync(string stream, CancellationToken cancellationToken)
    {
        var owner = await Running[0].Client.OwnerNodeAsync(stream, cancellationToken);
        return nodes.SingleOrDefault(node => node.IsNamedBy(owner))
            ?? throw new InvalidOperationException($"owner_node '{owner}' of {stream} is none of the benchmark's nodes");
    }

    /// <summary>Processor time used so far by the nodes still running.</summary>
    public TimeSpan RunningProcessorTime() => Running.Aggregate(TimeSpan.Zero, (sum, node) => sum + node.Server.ProcessorTime);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in nodes)
        {
            node.Client.Dispose();
            // The data directories go with the scratch directory: no drain needed.
            await node.Server.DisposeAsync();
        }
    }

    private static int FreeLoopbackPort() => ServerProcess.FreeLoopbackPort();
}
