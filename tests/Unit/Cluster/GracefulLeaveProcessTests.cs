using Streams.Actors.Domain;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Three real server processes in one cluster on the S3 test server; the node that owns the most
/// of the busy streams gets SIGTERM while producers append through every node.
/// </summary>
[Collection(ClusterOnS3.Collection)]
public sealed class GracefulLeaveProcessTests(S3TestBucket bucket, ITestOutputHelper output) : IClassFixture<S3TestBucket>, IDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(120);

    private readonly TestDirectory directory = new("cluster-leave");

    public void Dispose() => directory.Dispose();

    [S3Fact]
    public async Task Should_lose_no_acknowledged_record_and_answer_no_5xx_when_the_owner_of_busy_streams_leaves_with_SIGTERM()
    {
        const string prefix = "leave/";
        await using var cluster = await ClusterOnS3.StartAsync(ClusterOnS3.Nodes, bucket, prefix, directory);
        var streams = await ClusterOnS3.CreateStreamsAsync(cluster, prefix, ClusterOnS3.Streams);
        await using var load = new ClusterProducerLoad(cluster, streams);
        await load.WaitForProgressAsync(ClusterOnS3.RecordsPerPhase, ClusterOnS3.ProgressTimeout);

        var (leaving, moving) = await ClusterOnS3.BusiestOwnerAsync(cluster, streams);
        output.WriteLine($"SIGTERM to {leaving}, owner of {moving.Count} streams: {string.Join(", ", moving)}");
        Assert.True(await leaving.Process.TryTerminateAsync(DrainTimeout), $"{leaving} did not exit within {DrainTimeout} of SIGTERM\n{cluster.RecentOutput()}");
        Assert.True(leaving.Process.ExitCode == 0, $"{leaving} exited with code {leaving.Process.ExitCode}\n{leaving.Process.RecentOutput}");

        // Every stream, the moved ones included, takes appends again through the nodes that stay.
        await load.WaitForProgressAsync(ClusterOnS3.RecordsPerPhase, ClusterOnS3.ProgressTimeout);
        await load.StopAsync();
        output.WriteLine($"requests without an answer (sent to the leaving node): {load.Unanswered}");

        Assert.True(load.ServerErrors.Count == 0, $"a graceful leave answered 5xx:\n{string.Join("\n", load.ServerErrors)}");
        foreach (var producer in load.Producers)
        {
            Assert.True(producer.Rewinds.Count == 0, $"{producer.Stream} lost acknowledged records: {string.Join(", ", producer.Rewinds)}");
            var expected = ClusterProducerLoad.Records(producer.Stream, producer.Acknowledged);
            foreach (var node in cluster.Running)
            {
                var (bytes, tail) = await node.Client.ReadToTailAsync(producer.Stream);
                Assert.True(bytes.AsSpan().SequenceEqual(expected), $"{producer.Stream} read through {node} differs from its {producer.Acknowledged} acknowledged records ({bytes.Length} bytes, {expected.Length} expected)");
                Assert.Equal(producer.LastOffset, (Offset?)tail);
            }

            var owner = await cluster.OwnerOfAsync(producer.Stream, cluster.Running[0]);
            Assert.True(owner.IsRunning, $"{producer.Stream} is still placed on {owner}, which left");
        }
    }
}
