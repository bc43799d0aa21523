using System.Text;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.Support;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// A stream's shard moves while its old owner's compactor is merging it (two members in one process,
/// real remoting, real SQLite, a shared directory store). The hand-off calls the compaction off before
/// it publishes, so the old owner publishes and evicts the list it had, and the merged object the
/// compaction may have put stays queued for deletion: no layout committed behind the clean manifest,
/// no rows left on the old owner, every record on the new one.
/// </summary>
public sealed class CompactionHandOffTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const int Records = 6;
    private static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Each record sealed and published on its own; the whole small tail merged at once.</summary>
    private const string Trickle = """
        streams.segment.target-rows = 1000
        streams.segment.max-age = 10ms
        streams.segment.check-interval = 10ms
        streams.upload.check-interval = 10ms
        streams.upload.manifest-min-interval = 0s
        streams.compaction.check-interval = 50ms
        streams.compaction.quiet-after = 0s
        """;

    private readonly ObjectStoreWorld world = new();
    private readonly List<ClusterTestNode> nodes = [];

    public CompactionHandOffTests(ITestOutputHelper output)
        : base(ClusterTestNode.Hocon, output)
    {
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        world.Control.ClearRules();
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        world.Dispose();
    }

    [Fact]
    public async Task Should_call_off_the_compaction_before_the_clean_publish_when_the_stream_is_handed_off()
    {
        const string name = "compacting/moving";
        var first = ClusterTestNode.Start(Sys, world.Store, "http://node-a", Trickle, compacting: true);
        nodes.Add(first);
        first.Membership.Join(first.Membership.SelfAddress);
        await AwaitUpAsync(first, members: 1);

        var probe = CreateTestProbe();
        first.Region.Tell(new CreateStream(name, "text/plain", null, null, false, []), probe);
        Assert.True((await probe.ExpectMsgAsync<StreamCreated>(ReplyTimeout)).Created);
        ControllableObjectStore.Gate? mergedPut = null;
        for (var i = 0; i < Records; i++)
        {
            first.Region.Tell(new AppendToStream(name, "text/plain", [Record(i)], Close: false, StreamSeq: null, Producer: null), probe);
            await probe.ExpectMsgAsync<Appended>(ReplyTimeout);
            await Eventually.AssertAsync(async () => Assert.Equal(i + 1, (await world.ReadManifestAsync(name)).NextPosition), ReplyTimeout);
            // After the first seal, only a merge starting at the first record puts an object there.
            mergedPut ??= world.Control.Hold(ObjectStoreOperation.Put, key => key.StartsWith(FirstSegmentPrefix(name), StringComparison.Ordinal));
        }

        await mergedPut!.WhenArrived();
        var handOffPublish = world.Control.Hold(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(name));
        var secondSystem = ActorSystem.Create(Sys.Name, ConfigurationFactory.ParseString(ClusterTestNode.Hocon));
        var second = ClusterTestNode.Start(secondSystem, world.Store, "http://node-b", Trickle);
        nodes.Add(second);
        second.Membership.Join(first.Membership.SelfAddress);
        await AwaitUpAsync(first, members: 2);
        first.Region.Tell(GracefulShutdown.Instance);

        // When the hand-off publishes, the compaction is no longer putting anything.
        await handOffPublish.WhenArrived();
        Assert.Equal(1, world.Control.InFlight(ObjectStoreOperation.Put));
        handOffPublish.Release();
        mergedPut.Release();

        var reader = CreateTestProbe(secondSystem);
        await AwaitAssertAsync(
            async () =>
            {
                second.Region.Tell(new ReadStream(name, ReadStart.Beginning, WaitFor: null, MaxBytes: 1 << 20), reader);
                var read = await reader.ExpectMsgAsync<ReadCompleted>(ReplyTimeout);
                Assert.Equal(Enumerable.Range(0, Records).Select(i => Encoding.UTF8.GetString(Record(i))), read.Records.Select(record => Encoding.UTF8.GetString(record.Span)));
            },
            ClusterTimeout,
            TimeSpan.FromMilliseconds(100));
        await AwaitAssertAsync(() => Assert.Null(first.Engine.Database.LoadStream(name)), ClusterTimeout, TimeSpan.FromMilliseconds(100));
        var manifest = await world.ReadManifestAsync(name);
        Assert.Equal(Records, manifest.Segments.Count);
        // What the called-off compaction might have put is queued on the old owner, never left for good.
        Assert.Equal(1, first.Engine.Queries.PendingDeletions(name));
    }

    private static byte[] Record(int index) => Encoding.UTF8.GetBytes($"record {index}");

    private static string FirstSegmentPrefix(string name) =>
        ObjectStoreKeys.SegmentsPrefix(name) + ObjectStoreKeys.NewSegmentObjectName(0)[..17];

    private async Task AwaitUpAsync(ClusterTestNode node, int members) =>
        await AwaitAssertAsync(
            () => Assert.Equal(members, node.Membership.State.Members.Count(member => member.Status == MemberStatus.Up)),
            ClusterTimeout,
            TimeSpan.FromMilliseconds(100));
}
