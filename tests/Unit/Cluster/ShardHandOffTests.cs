using System.Text;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Two cluster members in one process (real remoting over loopback, real SQLite, a shared directory
/// object store): a stream's shard moves from one node to the other while requests for it keep
/// coming, and those requests wait and are then answered in the order they were sent, by the new
/// owner, which hydrated the stream from the clean manifest the old owner published on hand-off. A
/// compaction of the stream in flight on the old owner is called off before that publish, so no
/// layout is committed behind the clean manifest and the old owner's rows go.
/// </summary>
public sealed class ShardHandOffTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const long MaxReadBytes = 1 << 20;
    private static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly ObjectStoreWorld world = new();
    private readonly List<ClusterTestNode> nodes = [];

    public ShardHandOffTests(ITestOutputHelper output)
        : base(ClusterTestNode.Setup, output: output)
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
    public async Task Should_answer_requests_in_order_on_the_new_owner_when_they_arrive_while_the_stream_moves()
    {
        const string name = "orders/moving";
        var first = ClusterTestNode.Start(Sys, world.Store, "http://node-a");
        nodes.Add(first);
        first.Membership.Join(first.Membership.SelfAddress);
        await first.AwaitMembersUpAsync(this, members: 1);

        // The only member owns every shard: the stream starts on the first node.
        var setup = CreateTestProbe();
        first.Region.Tell(new CreateStream(name, "text/plain", null, null, false, [Bytes("r1")]), setup);
        Assert.True((await setup.ExpectMsgAsync<StreamCreated>(ReplyTimeout)).Created);
        first.Region.Tell(Append(name, "r2"), setup);
        await setup.ExpectMsgAsync<Appended>(ReplyTimeout);
        Assert.True(first.Node.TryGetLocalOwner(name, out _));

        var secondSystem = ActorSystem.Create(Sys.Name, ClusterTestNode.Setup);
        var second = ClusterTestNode.Start(secondSystem, world.Store, "http://node-b");
        nodes.Add(second);
        second.Membership.Join(first.Membership.SelfAddress);
        await first.AwaitMembersUpAsync(this, members: 2);
        await second.AwaitMembersUpAsync(this, members: 2);

        // The new owner's first look at the manifest is held, so the requests below are certainly
        // waiting (in the regions, then in the new owner's stash) when the move completes.
        var manifestFetch = world.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        first.Region.Tell(GracefulShutdown.Instance);

        var probe = CreateTestProbe(secondSystem);
        second.Region.Tell(ReadAll(name), probe);
        second.Region.Tell(Append(name, "r3"), probe);
        second.Region.Tell(Append(name, "r4"), probe);
        second.Region.Tell(Append(name, "r5"), probe);

        await manifestFetch.WhenArrived();
        manifestFetch.Release();

        var replies = new List<object>();
        for (var i = 0; i < 4; i++)
        {
            replies.Add(await probe.ExpectMsgAsync<object>(ReplyTimeout));
        }

        // The read (answered off the owner's thread, so it may overtake) sees what the old owner had;
        // the appends are acknowledged in the order sent, in the same epoch (the manifest was clean).
        var read = Assert.Single(replies.OfType<ReadCompleted>());
        Assert.Equal(["r1", "r2"], Texts(read));
        Assert.Equal(
            [new Offset(0, 3), new Offset(0, 4), new Offset(0, 5)],
            replies.OfType<Appended>().Select(appended => appended.NextOffset));
        Assert.Equal(4, replies.Count);
        second.Region.Tell(ReadAll(name), probe);
        Assert.Equal(["r1", "r2", "r3", "r4", "r5"], Texts(await probe.ExpectMsgAsync<ReadCompleted>(ReplyTimeout)));

        // The old owner drained and forgot the stream; the new owner kept its epoch (no bump: clean).
        Assert.True(second.Node.TryGetLocalOwner(name, out _));
        Assert.False(first.Node.TryGetLocalOwner(name, out _));
        Assert.Null(first.Engine.Database.LoadStream(name));
        var manifest = StreamManifest.Parse((await world.FileStore.GetAsync(ObjectStoreKeys.ManifestKey(name), CancellationToken.None))!);
        Assert.Single(manifest.Epochs);
    }

    [Fact]
    public async Task Should_call_off_the_compaction_before_the_clean_publish_when_the_stream_is_handed_off()
    {
        const string name = "compacting/moving";
        const int records = 6;
        var first = ClusterTestNode.Start(Sys, world.Store, "http://node-a", TrickleCompaction.Hocon, compacting: true);
        nodes.Add(first);
        first.Membership.Join(first.Membership.SelfAddress);
        await first.AwaitMembersUpAsync(this, members: 1);

        var probe = CreateTestProbe();
        first.Region.Tell(new CreateStream(name, "text/plain", null, null, false, []), probe);
        Assert.True((await probe.ExpectMsgAsync<StreamCreated>(ReplyTimeout)).Created);
        var mergedPut = await TrickleCompaction.AppendHoldingTheFirstMergeAsync(world, name, records, async record =>
        {
            first.Region.Tell(new AppendToStream(name, "text/plain", [record], Close: false, StreamSeq: null, Producer: null), probe);
            await probe.ExpectMsgAsync<Appended>(ReplyTimeout);
        });
        await mergedPut.WhenArrived();
        var handOffPublish = world.Control.Hold(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(name));
        var secondSystem = ActorSystem.Create(Sys.Name, ClusterTestNode.Setup);
        var second = ClusterTestNode.Start(secondSystem, world.Store, "http://node-b", TrickleCompaction.Hocon);
        nodes.Add(second);
        second.Membership.Join(first.Membership.SelfAddress);
        await first.AwaitMembersUpAsync(this, members: 2);
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
                second.Region.Tell(ReadAll(name), reader);
                var read = await reader.ExpectMsgAsync<ReadCompleted>(ReplyTimeout);
                Assert.Equal(Enumerable.Range(0, records).Select(i => Convert.ToHexString(TrickleCompaction.Record(i))), read.Records.Select(record => Convert.ToHexString(record.Span)));
            },
            ClusterTimeout,
            TimeSpan.FromMilliseconds(100));
        await AwaitAssertAsync(() => Assert.Null(first.Engine.Database.LoadStream(name)), ClusterTimeout, TimeSpan.FromMilliseconds(100));
        var manifest = await world.ReadManifestAsync(name);
        Assert.Equal(records, manifest.Segments.Count);
        // What the called-off compaction might have put is queued on the old owner, never left for good.
        Assert.Equal(1, first.Engine.Queries.PendingDeletions(name));
    }

    private static AppendToStream Append(string name, string text) =>
        new(name, "text/plain", [Bytes(text)], Close: false, StreamSeq: null, Producer: null);

    private static ReadStream ReadAll(string name) => new(name, ReadStart.Beginning, WaitFor: null, MaxReadBytes);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static List<string> Texts(ReadCompleted read) => [.. read.Records.Select(record => Encoding.UTF8.GetString(record.Span))];
}
