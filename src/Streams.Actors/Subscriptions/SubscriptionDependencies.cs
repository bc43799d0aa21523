using Akka.Actor;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// What every subscription owner shares. <paramref name="Streams"/> is where stream commands go
/// (the stream supervisor on one node, the shard region in a cluster): subscriptions describe
/// streams for their tails and append wakes to pull-wake streams through it, like any client.
/// <paramref name="ListStreamNames"/> pages through the names this node knows (after, limit).
/// </summary>
public sealed record SubscriptionDependencies(
    SubscriptionStore Store,
    WebhookDelivery Delivery,
    WebhookSigningKeys Keys,
    SubscriptionSettings Settings,
    TimeSpan AskTimeout,
    TimeProvider Clock,
    IActorRef Streams,
    Func<string?, int, IReadOnlyList<string>> ListStreamNames);
