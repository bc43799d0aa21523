using Akka.Actor;
using Akka.Hosting;
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
    IRequiredActor<SubscriptionManagerActor> manager,
    WebhookSigningKeys keys,
    WebhookUrlPolicy urlPolicy,
    SubscriptionSettings settings) : ISubscriptionsGateway
{
    public WebhookSigningKeys Keys => keys;

    public WebhookUrlPolicy UrlPolicy => urlPolicy;

    public SubscriptionLimits Limits => settings.Limits;

    public async Task<object> SendAsync(ISubscriptionCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var target = await manager.GetAsync(cancellationToken);
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
