using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static Streams.Actors.Subscriptions.SubscriptionReplies;

namespace Streams.Actors.Subscriptions;

/// <summary>The front door's way into subscriptions: send a command to a subscription's owner, get its reply.</summary>
public interface ISubscriptionsGateway
{
    WebhookUrlPolicy UrlPolicy { get; }

    SubscriptionLimits Limits { get; }

    /// <summary>The public keys that verify webhook deliveries, as a JWK set: the same on every node of a cluster.</summary>
    Task<byte[]> JwksAsync(CancellationToken cancellationToken);

    /// <summary>The owner's reply, or a <see cref="SubscriptionRejected"/> (Unavailable) when none came in time.</summary>
    Task<object> SendAsync(ISubscriptionCommand command, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>
/// On one node commands go to the local <see cref="SubscriptionManagerActor"/>; in a cluster to the
/// singleton proxy registered under the same key, which delivers them to the manager on whichever
/// node owns the subscriptions (buffering them while it moves).
/// </summary>
internal sealed class ActorSubscriptionsGateway(
    IServiceProvider services,
    Hosting.StreamsEngineOptions options,
    WebhookSigningKeys keys,
    WebhookUrlPolicy urlPolicy,
    SubscriptionSettings settings) : ISubscriptionsGateway
{
    public WebhookUrlPolicy UrlPolicy => urlPolicy;

    public SubscriptionLimits Limits => settings.Limits;

    public Task<byte[]> JwksAsync(CancellationToken cancellationToken) =>
        options.Cluster is null
            ? Task.FromResult(keys.JwksJson())
            : services.GetRequiredService<PublishedSigningKeys>().JwksAsync().WaitAsync(cancellationToken);

    public async Task<object> SendAsync(ISubscriptionCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
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
