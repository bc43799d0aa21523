using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static Streams.Actors.Subscriptions.SubscriptionReplies;

namespace Streams.Actors.Subscriptions;

/// <summary>The front door's way into subscriptions: send a command to a subscription's owner, get its reply.</summary>
public interface ISubscriptionsGateway
{
    /// <summary>The keys that sign webhook deliveries, for the JWKS.</summary>
    WebhookSigningKeys Keys { get; }

    WebhookUrlPolicy UrlPolicy { get; }

    SubscriptionLimits Limits { get; }

    /// <summary>The owner's reply, or a <see cref="SubscriptionRejected"/> (Unavailable) when none came in time.</summary>
    Task<object> SendAsync(ISubscriptionCommand command, TimeSpan timeout, CancellationToken cancellationToken);
}

internal sealed class ActorSubscriptionsGateway(
    IServiceProvider services,
    Hosting.StreamsEngineOptions options,
    WebhookSigningKeys keys,
    WebhookUrlPolicy urlPolicy,
    SubscriptionSettings settings) : ISubscriptionsGateway
{
    public WebhookSigningKeys Keys => keys;

    public WebhookUrlPolicy UrlPolicy => urlPolicy;

    public SubscriptionLimits Limits => settings.Limits;

    public async Task<object> SendAsync(ISubscriptionCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (options.Cluster is not null)
        {
            return new SubscriptionRejected(SubscriptionErrorCode.NotInCluster, "subscriptions run on single-node servers in this version (docs/subscriptions.md describes the cluster design)");
        }

        // Resolved only on a single node: a cluster node never starts the manager, and waiting for it would never end.
        var target = await services.GetRequiredService<IRequiredActor<SubscriptionManagerActor>>().GetAsync(cancellationToken);
        try
        {
            return await target.Ask<object>(command, timeout, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            return new SubscriptionRejected(SubscriptionErrorCode.Unavailable, "the subscription did not answer in time; retry");
        }
    }
}
