using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Routes every subscription command to the subscription's owner (a <see cref="SubscriptionActor"/>
/// child), creating it on the first message, and hands every stream signal to every owner. On one
/// node the signals come from the event stream; in a cluster this actor is a cluster singleton (one
/// node owns every subscription; docs/adr/0012-subscriptions-in-a-cluster.md) and the signals come
/// from the DistributedPubSub topic <see cref="StreamSignals.Topic"/>.
///
/// States: Loading (stashes everything while the stored subscriptions are read from the object
/// store; retried until it succeeds) → Routing.
/// </summary>
public sealed class SubscriptionManagerActor : ReceiveActor, IWithStash, IWithTimers
{
    /// <summary>Entity ids of subscriptions, reserved so they can never collide with a stream name.</summary>
    public const string EntityIdPrefix = "__ds/subscriptions/";

    private static readonly TimeSpan LoadRetryDelay = TimeSpan.FromSeconds(2);
    private readonly SubscriptionDependencies dependencies;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> owners = new(StringComparer.Ordinal);

    public SubscriptionManagerActor(SubscriptionDependencies dependencies)
    {
        this.dependencies = dependencies;
        Become(Loading);
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SubscriptionDependencies dependencies) =>
        Akka.Actor.Props.Create(() => new SubscriptionManagerActor(dependencies));

    public static string EntityId(string subscriptionId) => EntityIdPrefix + subscriptionId;

    protected override void PreStart()
    {
        // Subscribed before loading: a signal published meanwhile is stashed, not lost.
        if (dependencies.Clustered)
        {
            // Stream owners on every node publish to this topic (StreamSignals.Publish). The
            // subscription takes effect a little later; what is signalled before that is covered by
            // each owner asking its linked streams for their tails when it starts.
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(StreamSignals.Topic, Self));
        }
        else
        {
            Context.System.EventStream.Subscribe(Self, typeof(StreamSignals.TailObserved));
            Context.System.EventStream.Subscribe(Self, typeof(StreamSignals.StreamRemoved));
        }

        Load();
    }

    protected override void PostStop()
    {
        if (dependencies.Clustered)
        {
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Unsubscribe(StreamSignals.Topic, Self));
        }
        else
        {
            Context.System.EventStream.Unsubscribe(Self);
        }
    }

    private void Load()
    {
        var store = dependencies.Store;
        store.LoadAllAsync(CancellationToken.None)
            .PipeTo(Self, success: loaded => new StoredLoaded(loaded.Documents, loaded.Unreadable), failure: exception => new LoadFailed(exception));
    }

    private void Loading()
    {
        Receive<StoredLoaded>(loaded =>
        {
            foreach (var problem in loaded.Unreadable)
            {
                log.Error("Subscriptions: skipped an unreadable subscription document {0}", problem);
            }

            foreach (var stored in loaded.Documents)
            {
                owners[stored.Document.Id] = StartOwner(stored.Document.Id, stored);
            }

            log.Info("Subscriptions: {0} loaded from the object store", loaded.Documents.Count);
            Become(Routing);
            Stash.UnstashAll();
        });
        Receive<LoadFailed>(failed =>
        {
            log.Warning("Subscriptions: could not read the stored subscriptions ({0}); retrying in {1}", failed.Exception.Message, LoadRetryDelay);
            Timers.StartSingleTimer("load", new RetryLoad(), LoadRetryDelay);
        });
        Receive<RetryLoad>(_ => Load());
        Receive<SubscribeAck>(_ => { });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Routing()
    {
        Receive<ISubscriptionCommand>(command =>
        {
            if (!owners.TryGetValue(command.SubscriptionId, out var owner))
            {
                owner = StartOwner(command.SubscriptionId, stored: null);
                owners[command.SubscriptionId] = owner;
            }

            owner.Forward(command);
        });
        Receive<StreamSignals.TailObserved>(Broadcast);
        Receive<StreamSignals.StreamRemoved>(Broadcast);
        Receive<SubscribeAck>(_ => { });
    }

    private void Broadcast(object signal)
    {
        foreach (var owner in owners.Values)
        {
            owner.Tell(signal);
        }
    }

    private IActorRef StartOwner(string id, StoredSubscription? stored) =>
        Context.ActorOf(SubscriptionActor.Props(id, stored, dependencies), "subscription-" + ActorNameOf(id));

    /// <summary>Ids may hold characters actor names may not; a hash is always a valid name.</summary>
    private static string ActorNameOf(string id) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32];

    private sealed record StoredLoaded(IReadOnlyList<StoredSubscription> Documents, IReadOnlyList<string> Unreadable);

    private sealed record LoadFailed(Exception Exception);

    private sealed record RetryLoad;
}
