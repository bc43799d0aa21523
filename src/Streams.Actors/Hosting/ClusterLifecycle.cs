using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.Actors;
using Streams.Actors.Config;

namespace Streams.Actors.Hosting;

/// <summary>
/// First step of a cluster node's graceful stop (SIGTERM): hand every shard this node hosts to the
/// other nodes. Each stream owner drains (seal, publish clean, drop local rows) and stops; requests
/// for those streams wait in the shard regions and are answered by the new owners. Stopped before
/// the <see cref="DrainCoordinator"/>, which then publishes whatever is left in the local WAL.
/// </summary>
internal sealed class ShardHandOffService(
    IRequiredActor<StreamActor> region,
    StreamsSettings settings,
    ILogger<ShardHandOffService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var regionRef = await region.GetAsync(cancellationToken);
        logger.LogInformation("Leaving the cluster: handing this node's shards to the other nodes");
        try
        {
            // GracefulStop watches the region: it completes when the region has handed off every shard.
            await regionRef.GracefulStop(settings.DrainTimeout, GracefulShutdown.Instance);
            logger.LogInformation("Shards handed off in {Elapsed:F1} s", (DateTimeOffset.UtcNow - started).TotalSeconds);
        }
        catch (Exception exception) when (exception is TaskCanceledException or AskTimeoutException or OperationCanceledException)
        {
            logger.LogWarning("Handing off shards did not finish within {Timeout}; the drain publishes what is left", settings.DrainTimeout);
        }
    }
}

/// <summary>
/// Last step of a cluster node's graceful stop, after the drain: leave the cluster, so the others
/// stop counting on this node at once instead of waiting for the failure detector and the
/// split-brain resolver to down it.
/// </summary>
internal sealed class ClusterLeaveService(ActorSystem system, ILogger<ClusterLeaveService> logger) : IHostedService
{
    /// <summary>Leaving is a few gossip rounds; past this the actor system stops anyway.</summary>
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(10);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        try
        {
            using var timeout = new CancellationTokenSource(LeaveTimeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            await cluster.LeaveAsync(linked.Token);
            logger.LogInformation("Left the cluster");
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Leaving the cluster did not finish within {Timeout}", LeaveTimeout);
        }
    }
}
