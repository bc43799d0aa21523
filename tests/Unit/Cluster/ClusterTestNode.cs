using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Streams.Actors.Actors;
using Streams.Actors.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Actors.Protocol;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.TestSupport;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// One cluster member in this process: an <see cref="ActorSystem"/> with remoting on a loopback
/// port the operating system picks, its own local index (a <see cref="StreamTestNode"/>), the
/// segmenter and uploader, and the stream shard region wired as the hosting wires it (same
/// extractor, same hand-off stop message, no remembered entities).
/// </summary>
internal sealed class ClusterTestNode : IAsyncDisposable
{
    private static readonly TimeSpan MembershipTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <see cref="Hocon"/> and the serializer settings the hosting gives a node's actor system, so
    /// that messages cross remoting between test members as they do between servers.
    /// </summary>
    public static ActorSystemSetup Setup =>
        BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString(Hocon)).And(RemotingSerialization.Setup);

    public const string Hocon = """
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.cluster.run-coordinated-shutdown-when-down = off
        akka.loglevel = INFO
        """;

    private ClusterTestNode(ActorSystem system, StreamTestNode engine, StreamsNode node, IActorRef region, CompactionGate compaction)
    {
        Compaction = compaction;
        System = system;
        Engine = engine;
        Node = node;
        Region = region;
    }

    public ActorSystem System { get; }

    public StreamTestNode Engine { get; }

    public StreamsNode Node { get; }

    public IActorRef Region { get; }

    public Akka.Cluster.Cluster Membership => Akka.Cluster.Cluster.Get(System);

    /// <summary>Keeps the compactor (started when asked for) away from streams being handed off.</summary>
    public CompactionGate Compaction { get; }

    /// <summary>
    /// Wires the engine into <paramref name="system"/> (which must be configured with <see cref="Hocon"/>);
    /// <paramref name="streamsHocon"/> overrides engine settings (<c>streams.*</c>). With
    /// <paramref name="compacting"/> the node runs a compactor too, as the hosting starts it.
    /// </summary>
    public static ClusterTestNode Start(ActorSystem system, IObjectStore store, string httpBaseUrl, string? streamsHocon = null, bool compacting = false)
    {
        var engine = new StreamTestNode(store, RestoreMode.Lazy, streamsHocon);
        var node = new StreamsNode(
            new StreamsClusterOptions { BindHost = "127.0.0.1", PublicHost = "127.0.0.1", HttpBaseUrl = httpBaseUrl },
            httpBaseUrl);
        var gate = new CompactionGate();
        var dependencies = engine.Dependencies with { Cluster = node, ForkReferences = new ForkReferences(store), Compaction = gate };
        var clock = TimeProvider.System;
        var uploader = system.ActorOf(
            UploaderActor.Props(engine.Publisher, engine.Queries, engine.Backlog, engine.WalWriter, engine.Settings, clock),
            StreamActor.UploaderName);
        system.ActorOf(SegmenterActor.Props(engine.Sealer, uploader, engine.Settings, clock), StreamActor.SegmenterName);
        if (compacting)
        {
            system.ActorOf(
                CompactorActor.Props(new CompactionDependencies(engine.NewCompactor(), gate, engine.Queries, engine.Backlog, engine.Settings.Compaction, clock), uploader),
                "compactor");
        }

        var sharding = ClusterSharding.Get(system);
        // As the server's region (StreamsClusterHosting): shard locations in distributed data.
        var settings = ClusterShardingSettings.Create(system).WithStateStoreMode(StateStoreMode.DData);
        var region = sharding.Start(
            "streams",
            name => StreamActor.Props(name, dependencies),
            settings,
            new StreamMessageExtractor(engine.Settings.ClusterShardCount),
            sharding.DefaultShardAllocationStrategy(settings),
            PlacementMessages.HandOff.Instance);
        node.Started(region, Akka.Cluster.Cluster.Get(system));
        return new ClusterTestNode(system, engine, node, region, gate);
    }

    /// <summary>Waits, through <paramref name="kit"/>, until this member sees <paramref name="members"/> members up.</summary>
    public Task AwaitMembersUpAsync(Akka.TestKit.TestKitBase kit, int members) =>
        kit.AwaitAssertAsync(
            () => Xunit.Assert.Equal(members, Membership.State.Members.Count(member => member.Status == Akka.Cluster.MemberStatus.Up)),
            MembershipTimeout,
            TimeSpan.FromMilliseconds(100));

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        await Engine.DisposeAsync();
    }
}
