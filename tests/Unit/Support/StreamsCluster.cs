using System.Globalization;
using System.Text.RegularExpressions;
using Streams.Tests.Support;

namespace Streams.Tests.Unit.Support;

/// <summary>One member of a <see cref="StreamsCluster"/>: its 1-based number, remoting port and process.</summary>
internal sealed record ClusterNode(int Number, int RemotingPort, ServerProcess Process)
{
    public StreamsHttpClient Client { get; } = new(Process.Client);

    public bool IsRunning => !Process.HasExited;

    /// <summary>
    /// Whether an <c>owner_node</c> value names this node: its remoting address
    /// (<c>akka.tcp://streams@127.0.0.1:port</c>) or its HTTP base URL both carry a port of its own.
    /// </summary>
    public bool IsNamedBy(string owner) =>
        NamesPort(owner, RemotingPort) || NamesPort(owner, Process.BaseAddress.Port);

    public override string ToString() => $"node {Number} ({Process.BaseAddress}, remoting {RemotingPort}, pid {Process.ProcessId})";

    private static bool NamesPort(string owner, int port) =>
        Regex.IsMatch(owner, $@"(127\.0\.0\.1|localhost):{port.ToString(CultureInfo.InvariantCulture)}(?!\d)");
}

/// <summary>
/// Several real server processes on loopback joined into one Akka cluster (the flags of
/// docs/cluster.md), each on a data directory of its own and all on the same object store. Node 1
/// is the seed; each node is started on free ports and counts as started once <c>/ready</c> says 200.
/// </summary>
internal sealed class StreamsCluster : IAsyncDisposable
{
    public const string ReadyPath = "ready";

    /// <summary>A directory to which every node's output is appended, one file per node (docs/testing.md).</summary>
    public const string KeepLogsVariable = "STREAMS_TEST_CLUSTER_LOGS";
    private const string Loopback = "127.0.0.1";

    /// <summary>A remoting port seen free may be taken before the node binds it; then another is tried.</summary>
    private const int RemotingPortAttempts = 3;

    private readonly List<ClusterNode> nodes;

    private StreamsCluster(List<ClusterNode> nodes)
    {
        this.nodes = nodes;
    }

    public IReadOnlyList<ClusterNode> Nodes => nodes;

    public IReadOnlyList<ClusterNode> Running => nodes.Where(node => node.IsRunning).ToList();

    /// <summary>
    /// Starts <paramref name="nodeCount"/> nodes with data directories under <paramref name="directory"/>;
    /// every node gets <paramref name="sharedArguments"/> (the object store, pipeline settings) and
    /// <paramref name="environment"/> (credentials).
    /// </summary>
    public static async Task<StreamsCluster> StartAsync(
        int nodeCount,
        TestDirectory directory,
        IReadOnlyList<string> sharedArguments,
        IReadOnlyDictionary<string, string> environment)
    {
        var started = new List<ClusterNode>();
        try
        {
            // The seed first: it forms the cluster on its own, and the others join through it.
            started.Add(await StartNodeAsync(1, seedPort: null, directory, sharedArguments, environment));
            var seedPort = started[0].RemotingPort;
            var joining = Enumerable.Range(2, nodeCount - 1)
                .Select(number => StartNodeAsync(number, seedPort, directory, sharedArguments, environment))
                .ToList();
            try
            {
                // Awaits every start, so that none is left running unseen when one of them fails.
                await Task.WhenAll(joining);
            }
            finally
            {
                started.AddRange(joining.Where(start => start.IsCompletedSuccessfully).Select(start => start.Result));
            }

            return new StreamsCluster(started.OrderBy(node => node.Number).ToList());
        }
        catch (Exception)
        {
            foreach (var node in started)
            {
                await node.Process.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The running node that <c>_details</c> (asked of <paramref name="askedNode"/>) names as the owner of <paramref name="stream"/>.</summary>
    public async Task<ClusterNode> OwnerOfAsync(string stream, ClusterNode askedNode)
    {
        var details = await askedNode.Client.DetailsAsync(stream);
        var owner = details.TryGetProperty("owner_node", out var value) ? value.GetString() : null;
        if (string.IsNullOrEmpty(owner))
        {
            throw new InvalidOperationException($"_details of '{stream}' from {askedNode} names no owner_node: {details}");
        }

        return nodes.SingleOrDefault(node => node.IsNamedBy(owner))
            ?? throw new InvalidOperationException($"_details of '{stream}' names owner_node '{owner}', which is none of {string.Join(", ", nodes)}");
    }

    /// <summary>The last lines every node printed, for failure messages.</summary>
    public string RecentOutput() =>
        string.Join("\n", nodes.Select(node => $"----- {node} -----\n{node.Process.RecentOutput}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in nodes)
        {
            await node.Process.DisposeAsync();
        }
    }

    private static async Task<ClusterNode> StartNodeAsync(
        int number,
        int? seedPort,
        TestDirectory directory,
        IReadOnlyList<string> sharedArguments,
        IReadOnlyDictionary<string, string> environment)
    {
        for (var attempt = 1; ; attempt++)
        {
            var remotingPort = ServerProcess.FreeLoopbackPort();
            var seed = $"akka.tcp://streams@{Loopback}:{(seedPort ?? remotingPort).ToString(CultureInfo.InvariantCulture)}";
            var launch = new ServerLaunch
            {
                Label = $"node {number.ToString(CultureInfo.InvariantCulture)}",
                DataDirectory = directory.Combine($"node-{number.ToString(CultureInfo.InvariantCulture)}"),
                Arguments =
                [
                    "--cluster-host", Loopback,
                    "--cluster-port", remotingPort.ToString(CultureInfo.InvariantCulture),
                    "--cluster-seed-nodes", seed,
                    .. sharedArguments,
                ],
                Environment = environment,
                ReadinessPath = ReadyPath,
                // Set to keep every node's whole output after the run (the failure message shows only the last lines).
                LogPath = System.Environment.GetEnvironmentVariable(KeepLogsVariable) is { Length: > 0 } logs
                    ? Path.Combine(logs, $"{DateTime.UtcNow:HHmmss}-node-{number.ToString(CultureInfo.InvariantCulture)}-{remotingPort.ToString(CultureInfo.InvariantCulture)}.log")
                    : null,
            };
            try
            {
                return new ClusterNode(number, remotingPort, await ServerProcess.StartAsync(launch));
            }
            catch (InvalidOperationException) when (attempt < RemotingPortAttempts)
            {
                // Every attempt on this remoting port exited before it was ready: try another one.
            }
        }
    }
}
