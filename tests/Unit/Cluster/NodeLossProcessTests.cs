using System.Globalization;
using System.Net;
using Streams.Actors.Domain;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Three real server processes in one cluster on the S3 test server; the node that owns the most
/// of the busy streams is killed with SIGKILL while producers append through every node.
/// </summary>
[Collection(ClusterOnS3.Collection)]
public sealed class NodeLossProcessTests(S3TestBucket bucket, ITestOutputHelper output) : IClassFixture<S3TestBucket>, IDisposable
{
    /// <summary>
    /// Sealing by age only, once a second: at the kill the owner holds an acknowledged tail that is
    /// in no segment yet, which the kill takes with it.
    /// </summary>
    private static readonly string[] SlowSealing = ["--segment-target-rows", "100000", "--segment-max-age-ms", "1000"];

    private readonly TestDirectory directory = new("cluster-loss");

    public void Dispose() => directory.Dispose();

    [S3Fact]
    public async Task Should_keep_every_published_record_answer_410_for_lost_tails_and_take_appends_again_when_the_owner_of_busy_streams_is_killed()
    {
        const string prefix = "loss/";
        await using var cluster = await ClusterOnS3.StartAsync(ClusterOnS3.Nodes, bucket, prefix, directory, SlowSealing);
        var streams = await ClusterOnS3.CreateStreamsAsync(cluster, prefix, ClusterOnS3.Streams);
        await using var load = new ClusterProducerLoad(cluster, streams);
        await load.WaitForProgressAsync(ClusterOnS3.RecordsPerPhase, ClusterOnS3.ProgressTimeout);

        var (victim, orphaned) = await ClusterOnS3.BusiestOwnerAsync(cluster, streams);
        await victim.Process.KillAsync();
        var killedAt = load.Now;
        var acknowledgedAtKill = load.Producers.ToDictionary(producer => producer.Stream, producer => (Count: producer.Acknowledged, Offset: producer.LastOffset));
        output.WriteLine($"SIGKILL to {victim}, owner of {orphaned.Count} streams: {string.Join(", ", orphaned)}");

        // What the dead node had published: nothing can change it any more.
        var publishedAtKill = new Dictionary<string, IReadOnlyList<byte[]>>();
        using (var store = bucket.OpenStore(prefix))
        {
            foreach (var stream in orphaned)
            {
                publishedAtKill[stream] = (await PublishedStream.ReadAsync(store, stream, CancellationToken.None))?.Records ?? [];
            }
        }

        await load.WaitForProgressAsync(ClusterOnS3.RecordsPerPhase, ClusterOnS3.ProgressTimeout);
        await load.StopAsync();

        // How long the orphaned streams took appends from nobody: from the kill to their first acknowledgement after it.
        var outage = orphaned
            .Select(stream => load.Producers.Single(producer => producer.Stream == stream))
            .Select(producer => producer.AcknowledgedAt.First(at => at > killedAt) - killedAt)
            .Max();
        output.WriteLine($"producers appended to every orphaned stream again {outage.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s after the kill");
        output.WriteLine($"requests without an answer: {load.Unanswered}; 5xx answers: {load.ServerErrors.Count}");

        var lostTails = 0;
        foreach (var producer in load.Producers)
        {
            var expected = ClusterProducerLoad.Records(producer.Stream, producer.Acknowledged);
            foreach (var node in cluster.Running)
            {
                var (bytes, _) = await node.Client.ReadToTailAsync(producer.Stream);
                Assert.True(bytes.AsSpan().SequenceEqual(expected), $"{producer.Stream} read through {node} differs from its {producer.Acknowledged} acknowledged records ({bytes.Length} bytes, {expected.Length} expected)");
            }

            if (!publishedAtKill.TryGetValue(producer.Stream, out var published))
            {
                Assert.True(producer.Rewinds.Count == 0, $"{producer.Stream}, owned by a node that stayed, lost records: {string.Join(", ", producer.Rewinds)}");
                continue;
            }

            // Every published record survives, at its place.
            var publishedBytes = published.SelectMany(record => record).ToArray();
            Assert.True(expected.AsSpan().StartsWith(publishedBytes), $"{producer.Stream}: the {published.Count} records published before the kill are not the start of the stream");

            var atKill = acknowledgedAtKill[producer.Stream];
            if (published.Count < atKill.Count && atKill.Offset is { } lostOffset)
            {
                lostTails++;
                await AssertLostTailAnswers410Async(cluster, producer.Stream, lostOffset, published.Count);
            }
        }

        output.WriteLine($"orphaned streams with a lost tail: {lostTails} of {orphaned.Count}");
        Assert.True(lostTails > 0, "no orphaned stream had an unpublished tail at the kill, so the lost-tail answer went untested");
    }

    /// <summary>An offset into the lost tail answers 410 on every node, naming where the history continues: a new epoch at the published tail.</summary>
    private static async Task AssertLostTailAnswers410Async(StreamsCluster cluster, string stream, Offset lostOffset, int publishedRecords)
    {
        foreach (var node in cluster.Running)
        {
            using var response = await node.Client.GetAtAsync(stream, lostOffset);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Gone, $"{stream} at the lost offset {lostOffset} through {node} answered {(int)response.StatusCode}: {body}");
            Assert.Contains("offset_lost", body, StringComparison.Ordinal);
            var resume = response.Headers.GetValues("Stream-Next-Offset").Single();
            Assert.True(Offset.TryParse(resume, out var resumeOffset), $"{stream}: the 410 names no resume offset");
            Assert.True(
                resumeOffset.Epoch > lostOffset.Epoch && resumeOffset.Position == publishedRecords,
                $"{stream}: resume offset {resumeOffset} for the lost {lostOffset}; expected a later epoch at position {publishedRecords}");
            await node.Client.ReadToTailAsync(stream, resumeOffset);
        }
    }
}
