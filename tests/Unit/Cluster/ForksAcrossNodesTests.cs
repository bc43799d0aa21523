using System.Text;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.PlacementMessages;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Forks whose source another cluster member owns: two members in one process (real remoting over
/// loopback, so every message between the fork's owner and its source's owner is serialized; real
/// SQLite; a shared directory object store). The source is created while the first node is alone, so
/// the first node owns it; forks are named so that the second node owns them. Reads cross the
/// boundary page by page (a page of a few bytes here, so records also travel in pieces), deletes go
/// through the markers, and both streams survive their shards moving.
/// </summary>
public sealed class ForksAcrossNodesTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const long MaxReadBytes = 1 << 20;
    private const string SmallPages = "streams.cluster.fork-read-page-bytes = 4b";
    private static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly ObjectStoreWorld world = new();
    private readonly List<ClusterTestNode> nodes = [];
    private ClusterTestNode first = null!;
    private ClusterTestNode second = null!;

    public ForksAcrossNodesTests(ITestOutputHelper output)
        : base(ClusterTestNode.Setup, output: output)
    {
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        world.Dispose();
    }

    [Fact]
    public async Task Should_read_soft_delete_and_collect_when_the_fork_and_its_source_live_on_different_nodes()
    {
        await StartTwoNodesAsync(
            ("text", "text/plain", ["r1", "r2", "a-long-record"]),
            ("json", "application/json", []));
        // One JSON append of three messages: a JSON sub-offset counts within it.
        Assert.IsType<Appended>(await AskAsync(first, new AppendToStream("json", "application/json", [Bytes("1"), Bytes("2"), Bytes("3")], false, null, null)));

        // A fork at the source's tail, on the other node: reads the source's records, then its own.
        var fork = await NameOwnedBySecondAsync("fork-a");
        var created = Created(await AskAsync(second, Fork(fork, "text", forkOffset: null, subOffset: 0)));
        Assert.Equal(new Offset(0, 3), created.Stream.Tail);
        Assert.IsType<Appended>(await AskAsync(second, Append(fork, "own")));
        Assert.Equal(["r1", "r2", "a-long-record", "own"], await ReadAsync(second, fork, ReadStart.Beginning));
        Assert.Equal(["a-long-record", "own"], await ReadAsync(second, fork, ReadStart.At(new Offset(0, 2))));

        // Appends to the source after the fork are not the fork's.
        Assert.IsType<Appended>(await AskAsync(first, Append("text", "later")));
        Assert.Equal(["r1", "r2", "a-long-record", "own"], await ReadAsync(second, fork, ReadStart.Beginning));

        // A byte sub-offset cuts into the record after the fork offset, read across the boundary.
        // The prefix crosses remoting in one answer: at most a page (4 bytes here), else 413.
        var cut = await NameOwnedBySecondAsync("fork-cut");
        Assert.Equal(ErrorCode.PayloadTooLarge, Assert.IsType<StreamRejected>(await AskAsync(second, Fork(cut, "text", new Offset(0, 2), subOffset: 6))).Code);
        var cutCreated = Created(await AskAsync(second, Fork(cut, "text", new Offset(0, 2), subOffset: 4)));
        Assert.Equal(new Offset(0, 3), cutCreated.Stream.Tail);
        Assert.Equal(["r1", "r2", "a-lo"], await ReadAsync(second, cut, ReadStart.Beginning));

        // JSON mode: two of the three messages of the append at the fork offset.
        var jsonFork = await NameOwnedBySecondAsync("fork-json");
        Created(await AskAsync(second, Fork(jsonFork, "json", new Offset(0, 0), subOffset: 2)));
        Assert.Equal(["1", "2"], await ReadAsync(second, jsonFork, ReadStart.Beginning));
        var overshoot = await NameOwnedBySecondAsync("fork-json-over");
        Assert.Equal(ErrorCode.InvalidHeader, Assert.IsType<StreamRejected>(await AskAsync(second, Fork(overshoot, "json", new Offset(0, 0), subOffset: 4))).Code);

        // A fork of a fork, both reads recursing through the owners of each level.
        var grandchild = await NameOwnedBySecondAsync("fork-of-fork");
        Created(await AskAsync(second, Fork(grandchild, fork, new Offset(0, 1), subOffset: 0)));
        Assert.Equal(["r1"], await ReadAsync(second, grandchild, ReadStart.Beginning));

        // Deleting the source while forks read it: soft-deleted (410 to clients, 409 to a PUT), still read.
        Assert.IsType<StreamDeleted>(await AskAsync(first, new DeleteStream("text")));
        Assert.Equal(ErrorCode.StreamGone, Assert.IsType<StreamRejected>(await AskAsync(first, new DescribeStream("text"))).Code);
        Assert.Equal(ErrorCode.StreamSoftDeleted, Assert.IsType<StreamRejected>(await AskAsync(first, Create("text"))).Code);
        Assert.Equal(["r1", "r2", "a-long-record", "own"], await ReadAsync(second, fork, ReadStart.Beginning));

        // Deleting the forks: the source is collected once the last marker is gone, before the last
        // fork's delete is answered.
        Assert.IsType<StreamDeleted>(await AskAsync(second, new DeleteStream(cut)));
        Assert.Equal(ErrorCode.StreamGone, Assert.IsType<StreamRejected>(await AskAsync(first, new DescribeStream("text"))).Code);
        Assert.IsType<StreamDeleted>(await AskAsync(second, new DeleteStream(grandchild)));
        Assert.IsType<StreamDeleted>(await AskAsync(second, new DeleteStream(fork)));
        Assert.Equal(ErrorCode.StreamNotFound, Assert.IsType<StreamRejected>(await AskAsync(first, new DescribeStream("text"))).Code);
        Assert.Empty((await world.Store.ListAsync(ObjectStoreKeys.ForkReferencesPrefix("text"), null, 10, CancellationToken.None)).Objects);

        // A rejected fork leaves no marker behind: the JSON source is removed outright.
        Assert.IsType<StreamDeleted>(await AskAsync(second, new DeleteStream(jsonFork)));
        Assert.IsType<StreamDeleted>(await AskAsync(first, new DeleteStream("json")));
        Assert.Equal(ErrorCode.StreamNotFound, Assert.IsType<StreamRejected>(await AskAsync(first, new DescribeStream("json"))).Code);
    }

    [Fact]
    public async Task Should_keep_reading_a_fork_when_the_shards_of_it_and_its_source_move_to_another_node()
    {
        await StartTwoNodesAsync(("moving", "text/plain", ["m1", "m2"]));
        // One fork on each node: the one on the first node moves with its source.
        var remoteFork = await NameOwnedBySecondAsync("moving-fork-b");
        var localFork = await NameOwnedByAsync(first, "moving-fork-a");
        Created(await AskAsync(second, Fork(remoteFork, "moving", forkOffset: null, subOffset: 0)));
        Created(await AskAsync(first, Fork(localFork, "moving", forkOffset: null, subOffset: 0)));
        Assert.IsType<Appended>(await AskAsync(first, Append(localFork, "a")));
        // The source moves soft-deleted: it must stay so on its next owner, and keep serving its forks.
        Assert.IsType<StreamDeleted>(await AskAsync(first, new DeleteStream("moving")));

        // The first node hands every shard it has to the second: the forks must not hold their source back.
        var stopped = CreateTestProbe();
        stopped.Watch(first.Region);
        first.Region.Tell(GracefulShutdown.Instance);
        await stopped.ExpectTerminatedAsync(first.Region, ClusterTimeout);

        // Both drained cleanly: only a fully published stream's rows are dropped.
        Assert.Null(first.Engine.Database.LoadStream("moving"));
        Assert.Null(first.Engine.Database.LoadStream(localFork));
        Assert.Equal(ErrorCode.StreamGone, Assert.IsType<StreamRejected>(await AskAsync(second, new DescribeStream("moving"))).Code);
        Assert.Equal(["m1", "m2", "a"], await ReadAsync(second, localFork, ReadStart.Beginning));
        Assert.Equal(["m1", "m2"], await ReadAsync(second, remoteFork, ReadStart.Beginning));
        // The moved fork was restored alone: its source was hydrated only by its own owner.
        var restored = second.Engine.Database.LoadStream(localFork)!;
        Assert.Null(restored.ForkParentId);
        Assert.Equal("moving", restored.ForkParentName);

        // The last fork's delete collects the source on its new owner.
        Assert.IsType<StreamDeleted>(await AskAsync(second, new DeleteStream(localFork)));
        Assert.Equal(ErrorCode.StreamGone, Assert.IsType<StreamRejected>(await AskAsync(second, new DescribeStream("moving"))).Code);
        Assert.IsType<StreamDeleted>(await AskAsync(second, new DeleteStream(remoteFork)));
        Assert.Equal(ErrorCode.StreamNotFound, Assert.IsType<StreamRejected>(await AskAsync(second, new DescribeStream("moving"))).Code);
    }

    private async Task StartTwoNodesAsync(params (string Name, string ContentType, string[] Records)[] sources)
    {
        first = ClusterTestNode.Start(Sys, world.Store, "http://node-a", SmallPages);
        nodes.Add(first);
        first.Membership.Join(first.Membership.SelfAddress);
        await first.AwaitMembersUpAsync(this, members: 1);
        foreach (var (name, contentType, records) in sources)
        {
            // The only member owns every shard: the sources start on the first node.
            Created(await AskAsync(first, new CreateStream(name, contentType, null, null, false, [.. records.Select(Bytes)])));
        }

        var secondSystem = ActorSystem.Create(Sys.Name, ClusterTestNode.Setup);
        second = ClusterTestNode.Start(secondSystem, world.Store, "http://node-b", SmallPages);
        nodes.Add(second);
        second.Membership.Join(first.Membership.SelfAddress);
        await first.AwaitMembersUpAsync(this, members: 2);
        await second.AwaitMembersUpAsync(this, members: 2);
        // New shards go to the region with the fewest, but only once the coordinator knows the second
        // region: until then every name asked about would be placed on the first node for good.
        await AwaitAssertAsync(
            async () => Assert.Equal(2, (await first.Region.Ask<CurrentRegions>(GetCurrentRegions.Instance, ReplyTimeout)).Regions.Count),
            ClusterTimeout,
            TimeSpan.FromMilliseconds(100));
        foreach (var (name, _, _) in sources)
        {
            Assert.Equal("http://node-a", await OwnerUrlAsync(name));
        }
    }

    private Task<string> NameOwnedBySecondAsync(string prefix) => NameOwnedByAsync(second, prefix);

    /// <summary>A stream name whose shard <paramref name="node"/> hosts (new shards go to the node with fewer).</summary>
    private async Task<string> NameOwnedByAsync(ClusterTestNode node, string prefix)
    {
        var url = node == first ? "http://node-a" : "http://node-b";
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var name = $"{prefix}-{attempt}";
            if (await OwnerUrlAsync(name) == url)
            {
                return name;
            }
        }

        throw new InvalidOperationException($"no name starting with {prefix} is placed on {url}");
    }

    private async Task<string> OwnerUrlAsync(string name)
    {
        var probe = CreateTestProbe();
        first.Region.Tell(new LocateOwner(name), probe);
        return (await probe.ExpectMsgAsync<OwnerLocated>(ReplyTimeout)).HttpBaseUrl;
    }

    /// <summary>Asks through <paramref name="node"/>'s region; replies of streams it owns never cross remoting.</summary>
    private async Task<object> AskAsync(ClusterTestNode node, object command)
    {
        var probe = CreateTestProbe(node.System);
        node.Region.Tell(command, probe);
        return await probe.ExpectMsgAsync<object>(ReplyTimeout);
    }

    private async Task<List<string>> ReadAsync(ClusterTestNode node, string name, ReadStart start)
    {
        var texts = new List<string>();
        while (true)
        {
            var read = Assert.IsType<ReadCompleted>(await AskAsync(node, new ReadStream(name, start, WaitFor: null, MaxReadBytes)));
            texts.AddRange(read.Records.Select(record => Encoding.UTF8.GetString(record.Span)));
            if (read.UpToDate)
            {
                return texts;
            }

            start = ReadStart.At(read.Next);
        }
    }

    /// <summary>The creation's answer, with a rejection's own words when it is one.</summary>
    private static StreamCreated Created(object answer) =>
        answer as StreamCreated ?? throw new Xunit.Sdk.XunitException($"expected StreamCreated, got {answer}");

    private static CreateFork Fork(string name, string source, Offset? forkOffset, long subOffset) =>
        new(name, ContentType: null, TtlSeconds: null, ExpiresAt: null, Closed: false, InitialBody: [], source, forkOffset, subOffset);

    private static CreateStream Create(string name) => new(name, "text/plain", null, null, false, []);

    private static AppendToStream Append(string name, string text) =>
        new(name, "text/plain", [Bytes(text)], Close: false, StreamSeq: null, Producer: null);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
