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
/// other nodes, while this node still takes HTTP requests. Each stream owner drains (seal, publish
/// clean, drop local rows) and stops; requests for those streams wait in the shard regions and are
/// answered by the new owners, and requests this node had taken for them are sent on there.
/// <para>
/// It starts the moment the host begins to stop and is awaited in <see cref="StoppingAsync"/>, which
/// the host runs before it stops any hosted service, Kestrel included: the listener stays open until
/// the shards are handed off and the other nodes have stopped sending requests here (their
/// remembered owners last <c>streams.cluster.owner-cache-ttl</c>). Closing it earlier refuses the
/// other nodes' forwarded requests and, worse, closes their pooled connections under a request
/// just being sent, which a write cannot safely be retried after. Only then does the host stop
/// Kestrel (requests in flight finish), the <see cref="DrainCoordinator"/> publishes whatever is left
/// in the local WAL and <see cref="ClusterLeaveService"/> leaves the cluster.
/// </para>
/// </summary>
internal sealed class ShardHandOffService(
    IRequiredActor<StreamActor> region,
    ActorSystem system,
    StreamsNode node,
    IHostApplicationLifetime lifetime,
    StreamsSettings settings,
    ILogger<ShardHandOffService> logger) : IHostedLifecycleService
{
    /// <summary>
    /// Beyond <c>streams.cluster.handoff-timeout</c> (each stream's own bound, all streams at once):
    /// the coordinator's hand-off rounds. Past it the region is left to the actor system's own
    /// shutdown and the drain publishes what is left.
    /// </summary>
    public static readonly TimeSpan HandOffMargin = TimeSpan.FromSeconds(5);

    /// <summary>After the other nodes' remembered owners expire: for a request already on its way.</summary>
    private static readonly TimeSpan InFlightMargin = TimeSpan.FromSeconds(1);

    private readonly object gate = new();
    private Task? handOff;

    /// <summary>The longest a graceful stop waits here before Kestrel stops: the hand-off, then the other nodes forgetting this one.</summary>
    public static TimeSpan Bound(StreamsSettings settings) => settings.HandOffTimeout + HandOffMargin + settings.OwnerCacheTtl + InFlightMargin;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // SIGTERM sets off ApplicationStopping first: the hand-off starts at once.
        lifetime.ApplicationStopping.Register(() => HandOff());
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await HandOff().WaitAsync(cancellationToken);
            if (OtherMembersUp())
            {
                // An owner answers "here" until its own hand-off begins, so another node may have been
                // told so until the last one began; it remembers that for owner-cache-ttl at most.
                logger.LogInformation("Keeping the listener open {Delay} more, until no other node remembers this one as an owner", settings.OwnerCacheTtl + InFlightMargin);
                await Task.Delay(settings.OwnerCacheTtl + InFlightMargin, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("The host's shutdown timeout ended the hand-off before the listener closed");
        }
        finally
        {
            // Live reads this node forwards end now, as its own did at SIGTERM: the listener may close.
            node.CloseListener();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Task HandOff()
    {
        lock (gate)
        {
            return handOff ??= Task.Run(HandOffAsync);
        }
    }

    private bool OtherMembersUp()
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        return cluster.State.Members.Any(member => member.Status == Akka.Cluster.MemberStatus.Up && !member.Address.Equals(cluster.SelfAddress));
    }

    private async Task HandOffAsync()
    {
        var started = DateTimeOffset.UtcNow;
        var timeout = settings.HandOffTimeout + HandOffMargin;
        var regionRef = await region.GetAsync();
        logger.LogInformation("Leaving the cluster: handing this node's shards to the other nodes (timeout {Timeout})", timeout);
        bool handedOff;
        try
        {
            // GracefulStop watches the region: it completes when the region has handed off every
            // shard. It may never: with no coordinator (every node stopping at once), or with one
            // that does not know this region's shards (docs/cluster.md). Hence the bound.
            handedOff = await regionRef.GracefulStop(timeout, GracefulShutdown.Instance);
        }
        catch (Exception exception) when (exception is TaskCanceledException or AskTimeoutException or OperationCanceledException)
        {
            handedOff = false;
        }

        if (handedOff)
        {
            logger.LogInformation("Shards handed off in {Elapsed:F1} s", (DateTimeOffset.UtcNow - started).TotalSeconds);
        }
        else
        {
            logger.LogWarning("Handing off shards did not finish within {Timeout}; the drain publishes what is left", timeout);
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
