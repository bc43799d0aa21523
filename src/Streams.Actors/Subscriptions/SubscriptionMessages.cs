using Streams.Actors.Domain;

namespace Streams.Actors.Subscriptions;

/// <summary>Every message addressed to one subscription carries its id, so it can be routed (and, in a cluster, sharded).</summary>
public interface ISubscriptionCommand
{
    string SubscriptionId { get; }
}

/// <summary>Commands the HTTP front door sends to a subscription's owner.</summary>
public static class SubscriptionCommands
{
    /// <summary>PUT. <paramref name="PublicBaseUrl"/> is how clients reach this server (for callback and JWKS URLs).</summary>
    public sealed record PutSubscription(string SubscriptionId, SubscriptionSpec Spec, string PublicBaseUrl) : ISubscriptionCommand;

    public sealed record GetSubscription(string SubscriptionId) : ISubscriptionCommand;

    public sealed record DeleteSubscription(string SubscriptionId) : ISubscriptionCommand;

    public sealed record AddStreams(string SubscriptionId, IReadOnlyList<string> Streams) : ISubscriptionCommand;

    public sealed record RemoveStream(string SubscriptionId, string Stream) : ISubscriptionCommand;

    /// <summary>A webhook receiver's asynchronous answer; <paramref name="Token"/> is the bearer callback token.</summary>
    public sealed record Callback(string SubscriptionId, string? Token, WakeReport Report) : ISubscriptionCommand;

    public sealed record Claim(string SubscriptionId, string Worker) : ISubscriptionCommand;

    /// <summary>A pull-wake worker's progress (a heartbeat without <c>done</c>).</summary>
    public sealed record Ack(string SubscriptionId, string? Token, WakeReport Report) : ISubscriptionCommand;

    public sealed record Release(string SubscriptionId, string? Token, string WakeId, long Generation) : ISubscriptionCommand;
}

/// <summary>What a subscription's owner answers.</summary>
public static class SubscriptionReplies
{
    public sealed record SubscriptionSaved(SubscriptionView Subscription, bool Created);

    public sealed record SubscriptionFound(SubscriptionView Subscription);

    /// <summary>Delete, add or remove streams, release: 204.</summary>
    public sealed record SubscriptionChanged;

    public sealed record WakeAcknowledged(bool NextWake);

    public sealed record WakeClaimed(string WakeId, long Generation, string Token, IReadOnlyList<StreamProgress> Streams, long LeaseTtlMs);

    /// <summary>A refusal; <paramref name="CurrentHolder"/> and <paramref name="Generation"/> come with ALREADY_CLAIMED.</summary>
    public sealed record SubscriptionRejected(SubscriptionErrorCode Code, string Message, string? CurrentHolder = null, long? Generation = null);
}

public enum SubscriptionErrorCode
{
    InvalidRequest,
    WebhookUrlRejected,
    NotFound,
    AlreadyExists,
    Fenced,
    AlreadyClaimed,
    NoPendingWork,
    InvalidOffset,
    TokenInvalid,
    Unavailable,
}

/// <summary>One linked stream as clients see it.</summary>
public sealed record StreamProgress(string Path, bool Explicit, Offset AckedOffset, Offset TailOffset)
{
    public bool HasPending => TailOffset.CompareTo(AckedOffset) > 0;

    public string LinkType => Explicit ? "explicit" : "glob";
}

/// <summary>A subscription as GET and PUT show it.</summary>
public sealed record SubscriptionView(
    string Id,
    SubscriptionSpec Spec,
    IReadOnlyList<StreamProgress> Streams,
    DateTimeOffset CreatedAt,
    bool Failed,
    string PublicBaseUrl,
    string SigningKeyId);

/// <summary>
/// Published by stream owners before they acknowledge the change: on one node on the actor
/// system's event stream, so a subscription hears of an append before the appender can ask it
/// anything; in a cluster on the DistributedPubSub topic <see cref="Topic"/>, which reaches the
/// subscriptions' owner on whichever node it runs (there the order against the client's next
/// request is not guaranteed, which is why a claim finding nothing pending asks the streams first).
/// </summary>
public static class StreamSignals
{
    /// <summary>The cluster-wide topic of stream signals.</summary>
    public const string Topic = "streams-signals";

    public static void Publish(Akka.Actor.ActorSystem system, bool clustered, object signal)
    {
        if (clustered)
        {
            Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.Get(system).Mediator
                .Tell(new Akka.Cluster.Tools.PublishSubscribe.Publish(Topic, signal), Akka.Actor.ActorRefs.NoSender);
        }
        else
        {
            system.EventStream.Publish(signal);
        }
    }

    /// <summary>
    /// The stream's committed tail. <paramref name="Activity"/>: it was just created or appended to
    /// (a new stream matching a pattern is linked from its beginning); otherwise it was loaded or
    /// hydrated (an unknown stream is linked at its tail, as a backfill would have).
    /// </summary>
    public sealed record TailObserved(string StreamName, Offset Tail, bool Activity);

    public sealed record StreamRemoved(string StreamName);
}
