using Akka.Actor;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// What every subscription owner shares. <paramref name="Streams"/> is where stream commands go
/// (the stream supervisor on one node, the shard region in a cluster): subscriptions describe
/// streams for their tails and append wakes to pull-wake streams through it, like any client.
/// <paramref name="MatchingStreams"/> finds the existing streams a pattern matches, for a backfill
/// (this node's index on one node, every member's in a cluster). <paramref name="Clustered"/>:
/// stream signals come over the network, so they may arrive after a client's next request.
/// </summary>
public sealed record SubscriptionDependencies(
    SubscriptionStore Store,
    WebhookDelivery Delivery,
    WebhookSigningKeys Keys,
    SubscriptionSettings Settings,
    TimeSpan AskTimeout,
    TimeProvider Clock,
    IActorRef Streams,
    Func<string, CancellationToken, Task<IReadOnlyList<string>>> MatchingStreams,
    bool Clustered);
