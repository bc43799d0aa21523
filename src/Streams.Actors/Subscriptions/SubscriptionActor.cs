using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using static Streams.Actors.Subscriptions.SubscriptionCommands;
using static Streams.Actors.Subscriptions.SubscriptionReplies;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// The single owner of one subscription: its definition, links and acknowledged offsets, its wake
/// generation, the wake under way (webhook delivery or pull-wake claim) and that wake's lease.
///
/// States: Absent (no definition: only PUT creates one) → Active; Busy stashes everything while a
/// backfill or a write of the subscription's document is under way. Every change of the durable
/// state (definition, links, acked offsets, generation) is written to the object store before it
/// is acknowledged or acted on, so a restart or another owner continues from what clients were told.
/// Stream tails are learned from the streams' signals and by describing linked streams at start.
/// </summary>
public sealed partial class SubscriptionActor : ReceiveActor, IWithStash, IWithTimers
{
    private static readonly TimeSpan ReloadRetryDelay = TimeSpan.FromSeconds(1);
    private readonly string subscriptionId;
    private readonly SubscriptionDependencies dependencies;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<string, Offset> tails = new(StringComparer.Ordinal);

    private SubscriptionDocument? document;

    // The stored document's version as this owner last read or wrote it; every write names it, so
    // a write another owner made meanwhile is never overwritten (null: there is no document).
    private string? documentVersion;

    public SubscriptionActor(string subscriptionId, StoredSubscription? stored, SubscriptionDependencies dependencies)
    {
        this.subscriptionId = subscriptionId;
        this.dependencies = dependencies;
        document = stored?.Document;
        documentVersion = stored?.Version;
        if (stored is null)
        {
            Become(Absent);
        }
        else
        {
            Become(Active);
        }
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string subscriptionId, StoredSubscription? stored, SubscriptionDependencies dependencies) =>
        Akka.Actor.Props.Create(() => new SubscriptionActor(subscriptionId, stored, dependencies));

    protected override void PreStart()
    {
        if (document is not null)
        {
            RefreshTails(document.Links.Keys.ToList());
        }
    }

    /// <summary>
    /// After a failure the document given at first start may be stale (acks and generations were
    /// written since): the restarted owner reads the stored one before it serves anything.
    /// </summary>
    protected override void PostRestart(Exception reason)
    {
        log.Warning("Subscription {0} restarted after a failure ({1}); reloading its stored state", subscriptionId, reason.Message);
        document = null;
        documentVersion = null;
        StartReload(generationFloor: 0);
    }

    /// <summary>
    /// Reads the stored document and continues from it. <paramref name="generationFloor"/> is the
    /// highest generation this owner has used: a document another writer replaced may hold a
    /// lower one, and a generation must never be handed out twice.
    /// </summary>
    private void StartReload(long generationFloor)
    {
        var store = dependencies.Store;
        var id = subscriptionId;
        store.LoadAsync(id, CancellationToken.None)
            .PipeTo(Self, success: stored => new Reloaded(stored), failure: exception => new ReloadFailed(exception));
        Become(() =>
        {
            Receive<Reloaded>(reloaded =>
            {
                document = reloaded.Stored?.Document is { } stored && stored.Generation < generationFloor
                    ? stored with { Generation = generationFloor }
                    : reloaded.Stored?.Document;
                documentVersion = reloaded.Stored?.Version;
                if (wake is not null && (document is null || document.Generation > wake.Generation))
                {
                    // Another owner has started a later wake: this one's tokens must be refused.
                    ClearWake();
                }

                Stash.UnstashAll();
                if (document is null)
                {
                    Become(Absent);
                    return;
                }

                Become(Active);
                RefreshTails(document.Links.Keys.ToList());
            });
            Receive<ReloadFailed>(failed =>
            {
                log.Warning("Subscription {0}: could not read its stored state ({1}); retrying", subscriptionId, failed.Exception.Message);
                Timers.StartSingleTimer("reload", new RetryReload(), ReloadRetryDelay);
            });
            Receive<RetryReload>(_ => StartReload(generationFloor));
            ReceiveAny(_ => Stash.Stash());
        });
    }

    // ---- Absent ----------------------------------------------------------------------------

    private void Absent()
    {
        Receive<PutSubscription>(StartCreate);
        Receive<ISubscriptionCommand>(_ => Sender.Tell(NotFound()));
        Receive<StreamSignals.TailObserved>(_ => { });
        Receive<StreamSignals.StreamRemoved>(_ => { });
        ReceiveAny(_ => { });
    }

    private SubscriptionRejected NotFound() =>
        new(SubscriptionErrorCode.NotFound, $"subscription '{subscriptionId}' does not exist");

    /// <summary>Links the explicit streams and the pattern's existing streams at their current tails (the backfill).</summary>
    private void StartCreate(PutSubscription put)
    {
        var spec = put.Spec;
        var replyTo = Sender;
        var streams = dependencies.Streams;
        var matching = dependencies.MatchingStreams;
        var parallelism = dependencies.Settings.BackfillParallelism;
        var timeout = dependencies.AskTimeout;
        Task.Run(async () =>
            {
                var matched = spec.Pattern is { } pattern ? await matching(pattern, CancellationToken.None) : [];
                var described = await StreamTails.DescribeAsync(streams, matched.Concat(spec.Streams), parallelism, timeout);
                return new Backfilled(put, matched, described, replyTo);
            })
            .PipeTo(Self, failure: exception => new WorkFailed(exception, replyTo));
        BecomeBusy();
    }

    private void FinishCreate(Backfilled backfilled)
    {
        var put = backfilled.Put;
        var links = new Dictionary<string, StreamLink>(StringComparer.Ordinal);
        foreach (var name in backfilled.Matched.Where(name => name != put.Spec.WakeStream))
        {
            links[name] = new StreamLink(Explicit: false, Glob: true, backfilled.Tails[name] ?? Offset.Zero);
        }

        foreach (var name in put.Spec.Streams)
        {
            var acked = backfilled.Tails[name] ?? Offset.Zero;
            links[name] = links.TryGetValue(name, out var existing) ? existing with { Explicit = true } : new StreamLink(Explicit: true, Glob: false, acked);
        }

        RememberTails(backfilled.Tails);
        var created = new SubscriptionDocument(
            subscriptionId,
            put.Spec,
            put.Spec.ConfigHash(),
            dependencies.Clock.GetUtcNow(),
            put.PublicBaseUrl,
            Generation: 0,
            links);
        Save(created, backfilled.ReplyTo, () =>
        {
            backfilled.ReplyTo.Tell(new SubscriptionSaved(View(), Created: true));
            Become(Active);
            MaybeWake();
        });
    }

    // ---- Active ----------------------------------------------------------------------------

    private void Active()
    {
        Receive<PutSubscription>(put =>
        {
            if (put.Spec.ConfigHash() == document!.ConfigHash)
            {
                Sender.Tell(new SubscriptionSaved(View(), Created: false));
                return;
            }

            Sender.Tell(new SubscriptionRejected(SubscriptionErrorCode.AlreadyExists, $"subscription '{subscriptionId}' already exists with a different configuration"));
        });
        Receive<GetSubscription>(_ => Sender.Tell(new SubscriptionFound(View())));
        Receive<DeleteSubscription>(_ => StartDelete());
        Receive<AddStreams>(StartAddStreams);
        Receive<RemoveStream>(HandleRemoveStream);
        Receive<Callback>(HandleCallback);
        Receive<Claim>(HandleClaim);
        Receive<Ack>(HandleAck);
        Receive<Release>(HandleRelease);
        Receive<StreamSignals.TailObserved>(HandleTailObserved);
        Receive<StreamSignals.StreamRemoved>(HandleStreamRemoved);
        Receive<TailsDescribed>(described =>
        {
            RememberTails(described.Tails);
            MaybeWake();
        });
        ReceiveWakeMessages();
    }

    private void StartDelete()
    {
        var replyTo = Sender;
        var store = dependencies.Store;
        var id = subscriptionId;
        store.DeleteAsync(id, CancellationToken.None)
            .PipeTo(Self, success: () => new Deleted(replyTo), failure: exception => new WorkFailed(exception, replyTo));
        BecomeBusy();
    }

    private void StartAddStreams(AddStreams add)
    {
        var replyTo = Sender;
        var streams = dependencies.Streams;
        var fresh = add.Streams.Where(name => !(document!.Links.TryGetValue(name, out var link) && link.Explicit)).ToList();
        var parallelism = dependencies.Settings.BackfillParallelism;
        var timeout = dependencies.AskTimeout;
        StreamTails.DescribeAsync(streams, fresh, parallelism, timeout)
            .PipeTo(Self, success: described => new StreamsDescribed(fresh, described, replyTo), failure: exception => new WorkFailed(exception, replyTo));
        BecomeBusy();
    }

    private void FinishAddStreams(StreamsDescribed described)
    {
        var links = new Dictionary<string, StreamLink>(document!.Links, StringComparer.Ordinal);
        foreach (var name in described.Names)
        {
            links[name] = links.TryGetValue(name, out var existing)
                ? existing with { Explicit = true }
                : new StreamLink(Explicit: true, Glob: false, described.Tails[name] ?? Offset.Zero);
        }

        RememberTails(described.Tails);
        Save(document with { Links = links }, described.ReplyTo, () =>
        {
            described.ReplyTo.Tell(new SubscriptionChanged());
            MaybeWake();
        });
    }

    private void HandleRemoveStream(RemoveStream remove)
    {
        if (!document!.Links.TryGetValue(remove.Stream, out var link) || !link.Explicit)
        {
            // Removing a stream that is not linked explicitly is already done.
            Sender.Tell(new SubscriptionChanged());
            return;
        }

        var links = new Dictionary<string, StreamLink>(document.Links, StringComparer.Ordinal);
        if (link.Glob)
        {
            links[remove.Stream] = link with { Explicit = false };
        }
        else
        {
            links.Remove(remove.Stream);
        }

        var replyTo = Sender;
        Save(document with { Links = links }, replyTo, () => replyTo.Tell(new SubscriptionChanged()));
    }

    // ---- Stream signals --------------------------------------------------------------------

    private void HandleTailObserved(StreamSignals.TailObserved observed)
    {
        var name = observed.StreamName;
        if (document!.Links.ContainsKey(name))
        {
            tails[name] = observed.Tail;
            MaybeWake();
            return;
        }

        if (document.Spec.Pattern is not { } pattern || name == document.Spec.WakeStream || !StreamGlob.IsMatch(pattern, name))
        {
            return;
        }

        // A stream created (or first appended to) after the subscription is followed from its
        // beginning; one that only comes into view (loaded, hydrated after a restore) existed
        // before and is followed from its tail, as the backfill would have done.
        var acked = observed.Activity ? Offset.Zero : observed.Tail;
        tails[name] = observed.Tail;
        var links = new Dictionary<string, StreamLink>(document.Links, StringComparer.Ordinal)
        {
            [name] = new StreamLink(Explicit: false, Glob: true, acked),
        };
        Save(document with { Links = links }, replyTo: null, MaybeWake);
    }

    private void HandleStreamRemoved(StreamSignals.StreamRemoved removed)
    {
        if (!document!.Links.TryGetValue(removed.StreamName, out var link))
        {
            return;
        }

        tails.Remove(removed.StreamName);
        var links = new Dictionary<string, StreamLink>(document.Links, StringComparer.Ordinal);
        if (link.Explicit)
        {
            // Still followed by name: a stream created again under it is read from its beginning.
            links[removed.StreamName] = new StreamLink(Explicit: true, Glob: false, Offset.Zero);
        }
        else
        {
            links.Remove(removed.StreamName);
        }

        Save(document with { Links = links }, replyTo: null, () => { });
    }

    private void RememberTails(IReadOnlyDictionary<string, Offset?> described)
    {
        foreach (var (name, tail) in described)
        {
            // A signal may have brought a newer tail while the description was under way.
            if (tail is { } value && (!tails.TryGetValue(name, out var known) || value.CompareTo(known) > 0))
            {
                tails[name] = value;
            }
        }
    }

    private void RefreshTails(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return;
        }

        var streams = dependencies.Streams;
        var parallelism = dependencies.Settings.BackfillParallelism;
        var timeout = dependencies.AskTimeout;
        StreamTails.DescribeAsync(streams, names, parallelism, timeout)
            .PipeTo(Self, success: described => new TailsDescribed(described));
    }

    // ---- Busy: a backfill or a write is under way -----------------------------------------------

    private void BecomeBusy()
    {
        Become(() =>
        {
            Receive<Backfilled>(FinishCreate);
            Receive<StreamsDescribed>(FinishAddStreams);
            Receive<TailsAskedFor>(asked =>
            {
                RememberTails(asked.Tails);
                Stash.UnstashAll();
                Become(Active);
                asked.Retry();
            });
            Receive<Saved>(saved =>
            {
                document = saved.Document;
                documentVersion = saved.Version;
                Stash.UnstashAll();
                Become(Active);
                saved.Then();
            });
            Receive<SaveConflicted>(conflicted =>
            {
                // Another writer (an owner this subscription had before it moved here) changed the
                // document after this owner read it. Nothing was written; the change is refused
                // rather than merged, and the owner continues from what is stored.
                log.Warning("Subscription {0}: its stored document was changed by another writer; reloading it", subscriptionId);
                conflicted.ReplyTo?.Tell(new SubscriptionRejected(SubscriptionErrorCode.Unavailable, "the subscription's state changed on another node; retry"));
                var generationFloor = Math.Max(document?.Generation ?? 0, conflicted.Attempted.Generation);
                StartReload(generationFloor);
            });
            Receive<Deleted>(deleted =>
            {
                document = null;
                documentVersion = null;
                tails.Clear();
                ClearWake();
                deleted.ReplyTo.Tell(new SubscriptionChanged());
                Stash.UnstashAll();
                Become(Absent);
            });
            Receive<WorkFailed>(failed =>
            {
                log.Warning("Subscription {0}: {1}", subscriptionId, failed.Exception.Message);
                failed.ReplyTo?.Tell(new SubscriptionRejected(SubscriptionErrorCode.Unavailable, "the subscription's state could not be saved or read; retry"));
                Stash.UnstashAll();
                Become(document is null ? Absent : Active);
            });
            ReceiveAny(_ => Stash.Stash());
        });
    }

    /// <summary>Writes <paramref name="next"/>; only once it is durable does it become the state and <paramref name="then"/> run.</summary>
    private void Save(SubscriptionDocument next, IActorRef? replyTo, Action then)
    {
        var store = dependencies.Store;
        store.SaveAsync(next, documentVersion, CancellationToken.None)
            .PipeTo(
                Self,
                success: version => version is null ? new SaveConflicted(next, replyTo) : new Saved(next, version, then),
                failure: exception => new WorkFailed(exception, replyTo));
        BecomeBusy();
    }

    private SubscriptionView View() => new(
        subscriptionId,
        document!.Spec,
        Progress(),
        document.CreatedAt,
        deliveryAttempts > 0,
        document.PublicBaseUrl,
        dependencies.Keys.ActiveKeyId);

    private List<StreamProgress> Progress() =>
        document!.Links
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new StreamProgress(
                pair.Key,
                pair.Value.Explicit,
                pair.Value.AckedOffset,
                tails.TryGetValue(pair.Key, out var tail) && tail.CompareTo(pair.Value.AckedOffset) > 0 ? tail : pair.Value.AckedOffset))
            .ToList();

    /// <summary>Runs on every signal of a linked stream, so it does not sort or allocate like <see cref="Progress"/>.</summary>
    private bool HasPending()
    {
        foreach (var (path, link) in document!.Links)
        {
            if (tails.TryGetValue(path, out var tail) && tail.CompareTo(link.AckedOffset) > 0)
            {
                return true;
            }
        }

        return false;
    }

    private sealed record Reloaded(StoredSubscription? Stored);

    private sealed record ReloadFailed(Exception Exception);

    private sealed record RetryReload;

    private sealed record Backfilled(PutSubscription Put, IReadOnlyList<string> Matched, Dictionary<string, Offset?> Tails, IActorRef ReplyTo);

    private sealed record StreamsDescribed(List<string> Names, Dictionary<string, Offset?> Tails, IActorRef ReplyTo);

    private sealed record TailsDescribed(Dictionary<string, Offset?> Tails);

    private sealed record Saved(SubscriptionDocument Document, string Version, Action Then);

    private sealed record SaveConflicted(SubscriptionDocument Attempted, IActorRef? ReplyTo);

    private sealed record Deleted(IActorRef ReplyTo);

    private sealed record WorkFailed(Exception Exception, IActorRef? ReplyTo);
}
