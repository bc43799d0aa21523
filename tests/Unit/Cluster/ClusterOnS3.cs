using Streams.Tests.Unit.EndToEnd;
using Streams.Tests.Support;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;

namespace Streams.Tests.Unit.Cluster;

/// <summary>Starts a <see cref="StreamsCluster"/> whose nodes share one key prefix of a test bucket on the S3 test server (Ceph RGW).</summary>
internal static class ClusterOnS3
{
    /// <summary>The process tests' collection: one three-node cluster at a time on a small machine.</summary>
    public const string Collection = "cluster processes";
    public const int Nodes = 3;
    public const int Streams = 9;

    /// <summary>Records every producer gets acknowledged before a membership change, and again after it.</summary>
    public const int RecordsPerPhase = 20;

    public static readonly TimeSpan ProgressTimeout = TimeSpan.FromSeconds(120);

    /// <summary>HOCON added to every node's <c>--hocon</c> when set.</summary>
    public const string ExtraHoconVariable = "STREAMS_TEST_CLUSTER_HOCON";

    public static async Task<StreamsCluster> StartAsync(
        int nodeCount,
        S3TestBucket bucket,
        string prefix,
        TestDirectory directory,
        params string[] sealing)
    {
        var s3 = S3TestServer.Require();
        await bucket.EnsureCreatedAsync();
        // Extra engine or Akka settings for every node, to measure a tuning (docs/cluster.md#node-loss-recovery-time).
        var hocon = Environment.GetEnvironmentVariable(ExtraHoconVariable) is { Length: > 0 } extra
            ? S3PipelineTests.FastPipeline + "\n" + extra
            : S3PipelineTests.FastPipeline;
        string[] arguments = [.. s3.ServerArguments(bucket.Name, prefix), "--hocon", hocon, .. sealing];
        return await StreamsCluster.StartAsync(nodeCount, directory, arguments, s3.ServerEnvironment());
    }

    /// <summary>Creates <paramref name="count"/> streams, each through a node of its own in turn.</summary>
    public static async Task<IReadOnlyList<string>> CreateStreamsAsync(StreamsCluster cluster, string prefix, int count)
    {
        var names = Enumerable.Range(0, count).Select(index => $"{prefix}stream-{index}").ToList();
        for (var index = 0; index < names.Count; index++)
        {
            await cluster.Nodes[index % cluster.Nodes.Count].Client.CreateAsync(names[index]);
        }

        return names;
    }

    /// <summary>The running node that owns the most of <paramref name="streams"/>, and which ones it owns.</summary>
    public static async Task<(ClusterNode Node, IReadOnlyList<string> Streams)> BusiestOwnerAsync(StreamsCluster cluster, IReadOnlyList<string> streams)
    {
        var owners = new Dictionary<string, ClusterNode>();
        foreach (var stream in streams)
        {
            owners[stream] = await cluster.OwnerOfAsync(stream, cluster.Running[0]);
        }

        var busiest = owners.GroupBy(pair => pair.Value).OrderByDescending(group => group.Count()).First();
        return (busiest.Key, busiest.Select(pair => pair.Key).ToList());
    }
}
