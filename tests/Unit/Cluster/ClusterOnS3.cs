using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;

namespace Streams.Tests.Unit.Cluster;

/// <summary>Starts a <see cref="StreamsCluster"/> whose nodes share one key prefix of a test bucket on the S3 test server (Ceph RGW).</summary>
internal static class ClusterOnS3
{
    /// <summary>Seal and upload at once, so that what a drain or a kill leaves behind is the tail alone.</summary>
    private const string FastPipeline = """
        streams.segment.check-interval = 50ms
        streams.upload.check-interval = 50ms
        streams.upload.retry-min-backoff = 20ms
        streams.upload.retry-max-backoff = 1s
        """;

    public static async Task<StreamsCluster> StartAsync(
        int nodeCount,
        S3TestBucket bucket,
        string prefix,
        TestDirectory directory,
        params string[] sealing)
    {
        var s3 = S3TestServer.Require();
        await bucket.EnsureCreatedAsync();
        string[] arguments =
        [
            "--object-store", "s3",
            "--s3-endpoint", s3.Endpoint,
            "--s3-region", s3.Region,
            "--s3-bucket", bucket.Name,
            "--s3-prefix", prefix,
            "--hocon", FastPipeline,
            .. sealing,
        ];
        // Credentials only ever through the environment, as in production.
        var environment = new Dictionary<string, string>
        {
            ["STREAMS_S3_ACCESS_KEY"] = s3.AccessKey,
            ["STREAMS_S3_SECRET_KEY"] = s3.SecretKey,
        };
        return await StreamsCluster.StartAsync(nodeCount, directory, arguments, environment);
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
