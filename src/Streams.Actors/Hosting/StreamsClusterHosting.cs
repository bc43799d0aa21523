using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Protocol;

namespace Streams.Actors.Hosting;

/// <summary>
/// Cluster mode: remoting, membership (with the split-brain resolver Akka.Cluster.Hosting configures
/// by default, keep-majority) and one shard region whose entities are the same
/// <see cref="StreamActor"/>s a single node runs under its supervisor.
/// </summary>
internal static class StreamsClusterHosting
{
    /// <summary>The shard region's type name: every node must use the same.</summary>
    public const string RegionName = "streams";

    public static AkkaConfigurationBuilder WithStreamsCluster(
        this AkkaConfigurationBuilder builder,
        StreamsClusterOptions cluster,
        StreamsSettings settings,
        StreamsNode node,
        Func<StreamDependencies> dependencies)
    {
        builder
            .WithRemoting(new RemoteOptions
            {
                HostName = cluster.BindHost,
                Port = cluster.Port,
                PublicHostName = cluster.PublicHost,
            })
            .WithClustering(new ClusterOptions
            {
                SeedNodes = [.. cluster.SeedNodes],
                Roles = [.. cluster.Roles],
                // Stated rather than left implicit: docs/cluster.md says which strategy downs a lost node.
                SplitBrainResolver = SplitBrainResolverOption.Default,
            })
            .WithShardRegion<StreamActor>(
                RegionName,
                (_, _) => streamName => StreamActor.Props(streamName, dependencies()),
                new StreamMessageExtractor(settings.ClusterShardCount),
                new ShardOptions
                {
                    Role = cluster.ShardRole,
                    // Where each shard lives is kept by the coordinator in distributed data, replicated
                    // to every member. Left unset, sharding falls back to persistence, which with no
                    // journal configured is the in-memory journal of the coordinator's own node: when
                    // that node left, the next coordinator started empty, gave shards that were still
                    // hosted elsewhere to other nodes (two owners of one stream) and never handed off
                    // the shards it did not know.
                    StateStoreMode = Akka.Cluster.Sharding.StateStoreMode.DData,
                    // Streams come back lazily on their first request; nothing is restarted eagerly.
                    RememberEntities = false,
                    // A moving stream drains before it stops (see StreamActor.Placement.cs).
                    HandOffStopMessage = PlacementMessages.HandOff.Instance,
                    // The owners passivate themselves when idle, with the same hand-off drain.
                    ShouldPassivateIdleEntities = false,
                })
            // Where-is questions go through a proxy: it outlives this node's own region, which stops
            // once a leaving node has handed its shards off while the node still takes requests.
            // (A null role, like the region's, keeps sharding's configured default: any member.)
            .WithShardRegionProxy<RegionProxy>(RegionName, cluster.ShardRole!, new StreamMessageExtractor(settings.ClusterShardCount))
            .AddStartup((system, registry) =>
            {
                var self = Akka.Cluster.Cluster.Get(system);
                node.Started(registry.Get<StreamActor>(), self, registry.Get<RegionProxy>());
                system.ActorOf(OwnershipLossForwarderActor.Props(registry.Get<StreamActor>()), "ownership-loss-forwarder");
                if (cluster.SeedNodes.Count == 0)
                {
                    // No seeds: this node starts a cluster of its own that others can join.
                    self.Join(self.SelfAddress);
                }
            });
        return builder;
    }

    /// <summary>The registry key of the shard region proxy (<see cref="StreamsNode.Locator"/>).</summary>
    internal sealed class RegionProxy;

    /// <summary>The services a cluster node adds, in the order that makes SIGTERM a graceful leave.</summary>
    public static void AddClusterStopSequence(IServiceCollection services, Action addDrain)
    {
        // The hand-off runs before any hosted service stops (IHostedLifecycleService.StoppingAsync),
        // Kestrel included; then hosted services stop in reverse order: Kestrel (registered last by
        // WebApplication), the drain of what is left, the leave, and the actor system.
        services.AddHostedService<ClusterLeaveService>();
        addDrain();
        services.AddHostedService<ShardHandOffService>();
    }
}
