using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Streams.Actors.Domain;
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
        var first = ClusterTestNode.Start(Sys, world.Store, "http://node-a", TrickleCompaction.Hocon, compacting: true);
        nodes.Add(first);
        first.Membership.Join(first.Membership.SelfAddress);
        await AwaitUpAsync(first, members: 1);

        var probe = CreateTestProbe();
        first.Region.Tell(new CreateStream(name, "text/plain", null, null, false, []), probe);
        Assert.True((await probe.ExpectMsgAsync<StreamCreated>(ReplyTimeout)).Created);
        var mergedPut = await TrickleCompaction.AppendHoldingTheFirstMergeAsync(world, name, Records, async record =>
        {
            first.Region.Tell(new AppendToStream(name, "text/plain", [record], Close: false, StreamSeq: null, Producer: null), probe);
            await probe.ExpectMsgAsync<Appended>(ReplyTimeout);
        });
        await mergedPut.WhenArrived();
        var handOffPublish = world.Control.Hold(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(name));
        var secondSystem = ActorSystem.Create(Sys.Name, ConfigurationFactory.ParseString(ClusterTestNode.Hocon));
        var second = ClusterTestNode.Start(secondSystem, world.Store, "http://node-b", TrickleCompaction.Hocon);
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
                Assert.Equal(Enumerable.Range(0, Records).Select(i => Convert.ToHexString(TrickleCompaction.Record(i))), read.Records.Select(record => Convert.ToHexString(record.Span)));
            },
            ClusterTimeout,
            TimeSpan.FromMilliseconds(100));
        await AwaitAssertAsync(() => Assert.Null(first.Engine.Database.LoadStream(name)), ClusterTimeout, TimeSpan.FromMilliseconds(100));
        var manifest = await world.ReadManifestAsync(name);
        Assert.Equal(Records, manifest.Segments.Count);
        // What the called-off compaction might have put is queued on the old owner, never left for good.
        Assert.Equal(1, first.Engine.Queries.PendingDeletions(name));
    }

    private async Task AwaitUpAsync(ClusterTestNode node, int members) =>
        await AwaitAssertAsync(
            () => Assert.Equal(members, node.Membership.State.Members.Count(member => member.Status == MemberStatus.Up)),
            ClusterTimeout,
            TimeSpan.FromMilliseconds(100));
}
