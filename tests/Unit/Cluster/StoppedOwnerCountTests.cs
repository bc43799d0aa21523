using System.Text;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Streams.Actors.Hosting;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Cluster;

/// <summary>Runs alone: the count of stopped stream owners is one per process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StoppedOwnerCountCollection
{
    public const string Name = "stopped stream owner count";
}

/// <summary>
/// A cluster member's stream owners are stopped by the shard region, not by the local supervisor;
/// each still counts towards the heap compaction after a sweep of stops (HeapCompactionService).
/// </summary>
[Collection(StoppedOwnerCountCollection.Name)]
public sealed class StoppedOwnerCountTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    private readonly ObjectStoreWorld world = new();
    private ClusterTestNode? node;

    public StoppedOwnerCountTests(ITestOutputHelper output)
        : base(ClusterTestNode.Setup, output: output)
    {
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (node is not null)
        {
            await node.DisposeAsync();
        }

        world.Dispose();
    }

    [Fact]
    public async Task Should_count_a_stream_owner_the_shard_region_stops()
    {
        const string name = "counted/owner";
        node = ClusterTestNode.Start(Sys, world.Store, "http://node-a");
        node.Membership.Join(node.Membership.SelfAddress);
        await node.AwaitMembersUpAsync(this, members: 1);
        var probe = CreateTestProbe();
        node.Region.Tell(new CreateStream(name, "text/plain", null, null, false, [Encoding.UTF8.GetBytes("r1")]), probe);
        Assert.True((await probe.ExpectMsgAsync<StreamCreated>(ReplyTimeout)).Created);
        Assert.True(node.Node.TryGetLocalOwner(name, out var owner));
        var before = StoppedStreamOwners.Count;

        probe.Watch(owner);
        node.Region.Tell(GracefulShutdown.Instance);
        await probe.ExpectTerminatedAsync(owner, ReplyTimeout);

        await AwaitAssertAsync(() => Assert.True(StoppedStreamOwners.Count > before, $"stopped owners: {StoppedStreamOwners.Count}, before the hand-off: {before}"), ReplyTimeout);
    }
}
