using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using static Streams.Actors.Subscriptions.SubscriptionCommands;
using static Streams.Actors.Subscriptions.SubscriptionReplies;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Wakes: at most one is under way per subscription. A wake starts when a linked stream's tail
/// passes its acked offset and none is under way; it raises the generation (durably, first) and
/// carries a fresh wake id and bearer token. A webhook wake is delivered (retried with backoff
/// and jitter while the receiver fails) and then leased for <c>lease_ttl_ms</c>; a pull-wake wake
/// is announced on the wake stream and leased from its claim. A callback, ack or release must
/// name the current wake id and generation (else 409 FENCED) and carry its token. When the lease
/// runs out the wake is dropped and, if work is still pending, the next one starts.
/// </summary>
public sealed partial class SubscriptionActor
{
    private const string LeaseTimer = "lease";
    private const string RetryTimer = "retry";
    private const int TokenBytes = 32;
    private const int WakeIdBytes = 12;

    private Wake? wake;
    private int deliveryAttempts;

    private void ReceiveWakeMessages()
    {
        Receive<DeliveryCompleted>(HandleDeliveryCompleted);
        Receive<RetryDelivery>(retry =>
        {
            if (wake?.WakeId == retry.WakeId)
            {
                Deliver(wake);
            }
        });
        Receive<LeaseExpired>(expired =>
        {
            if (wake?.WakeId != expired.WakeId)
            {
                return;
            }

            log.Info("Subscription {0}: the lease of wake {1} (generation {2}) ran out", subscriptionId, wake.WakeId, wake.Generation);
            ClearWake();
            MaybeWake();
        });
        Receive<WakeAnnounced>(announced =>
        {
            if (announced.Error is { } error)
            {
                // The wake stays: a worker polling claim still finds it.
                log.Warning("Subscription {0}: the wake could not be appended to {1}: {2}", subscriptionId, document?.Spec.WakeStream, error);
            }
        });
    }

    /// <summary>Starts the next wake when work is pending and none is under way.</summary>
    private void MaybeWake()
    {
        if (document is null || wake is not null || !HasPending())
        {
            return;
        }

        StartWake(then: () => { });
    }

    private void StartWake(Action then)
    {
        var next = document! with { Generation = document.Generation + 1 };
        // The generation is durable before any token of it is handed out: after a restart a token
        // of this wake is still recognised as stale.
        Save(next, replyTo: null, () =>
        {
            var snapshot = Progress();
            var trigger = snapshot.FirstOrDefault(stream => stream.HasPending)?.Path ?? string.Empty;
            wake = new Wake(RandomToken(WakeIdBytes), next.Generation, RandomToken(TokenBytes), snapshot, Holder: null);
            deliveryAttempts = 0;
            if (next.Spec.Type == SubscriptionType.Webhook)
            {
                Deliver(wake);
            }
            else
            {
                Announce(next, wake, trigger);
            }

            then();
        });
    }

    private void Deliver(Wake current)
    {
        // A retry carries the latest tails: a receiver that was down gets everything pending.
        current = current with { Streams = Progress() };
        wake = current;
        var body = WakePayloads.WebhookBody(subscriptionId, current.WakeId, current.Generation, current.Streams, CallbackUrl(), current.Token);
        var delivery = dependencies.Delivery;
        var url = document!.Spec.WebhookUrl!;
        var wakeId = current.WakeId;
        delivery.DeliverAsync(url, body, CancellationToken.None)
            .PipeTo(Self, success: outcome => new DeliveryCompleted(wakeId, outcome));
    }

    private void HandleDeliveryCompleted(DeliveryCompleted completed)
    {
        if (wake?.WakeId != completed.WakeId)
        {
            return;
        }

        var outcome = completed.Outcome;
        if (!outcome.Delivered)
        {
            deliveryAttempts++;
            var delay = dependencies.Settings.RetryDelay(deliveryAttempts, Random.Shared.NextDouble());
            log.Warning("Subscription {0}: delivery of wake {1} failed ({2}); attempt {3}, retrying in {4:0.0} s", subscriptionId, wake.WakeId, outcome.Error, deliveryAttempts, delay.TotalSeconds);
            Timers.StartSingleTimer(RetryTimer, new RetryDelivery(wake.WakeId), delay);
            return;
        }

        deliveryAttempts = 0;
        if (!outcome.Done)
        {
            // The receiver has it and will call back; the lease bounds how long it may take.
            StartLease(wake);
            return;
        }

        // {"done": true}: the receiver handled everything the wake showed it.
        var links = new Dictionary<string, StreamLink>(document!.Links, StringComparer.Ordinal);
        foreach (var stream in wake.Streams)
        {
            if (links.TryGetValue(stream.Path, out var link) && stream.TailOffset.CompareTo(link.AckedOffset) > 0)
            {
                links[stream.Path] = link with { AckedOffset = stream.TailOffset };
            }
        }

        ClearWake();
        SaveLinks(links, replyTo: null, MaybeWake);
    }

    /// <summary>Saves changed links; unchanged ones (a heartbeat without acks) need no write.</summary>
    private void SaveLinks(Dictionary<string, StreamLink> links, IActorRef? replyTo, Action then)
    {
        var unchanged = links.Count == document!.Links.Count
            && links.All(pair => document.Links.TryGetValue(pair.Key, out var stored) && stored == pair.Value);
        if (unchanged)
        {
            then();
            return;
        }

        Save(document with { Links = links }, replyTo, then);
    }

    private void Announce(SubscriptionDocument current, Wake announced, string trigger)
    {
        var record = WakePayloads.WakeEvent(subscriptionId, trigger, announced.Generation, dependencies.Clock.GetUtcNow());
        // In a cluster this command crosses remoting (RemotingSerialization writes the collection
        // expression as a list the other node can rebuild).
        var append = new StreamCommands.AppendToStream(current.Spec.WakeStream!, "application/json", [record], Close: false, StreamSeq: null, Producer: null);
        dependencies.Streams.Ask<object>(append, dependencies.AskTimeout)
            .PipeTo(
                Self,
                success: reply => new WakeAnnounced(reply is StreamReplies.StreamRejected rejected ? rejected.Message : null),
                failure: exception => new WakeAnnounced(exception.Message));
    }

    // ---- Webhook callback --------------------------------------------------------------------

    private void HandleCallback(Callback callback)
    {
        if (document!.Spec.Type != SubscriptionType.Webhook)
        {
            Sender.Tell(new SubscriptionRejected(SubscriptionErrorCode.InvalidRequest, "callbacks belong to webhook subscriptions; pull-wake workers use ack"));
            return;
        }

        Report(callback.Token, callback.Report, Sender, tailsAsked: false);
    }

    // ---- Pull-wake -------------------------------------------------------------------------------

    private void HandleClaim(Claim claim) => HandleClaim(claim, Sender, tailsAsked: false);

    /// <param name="tailsAsked">The linked streams were just asked for their tails (see <see cref="AskTailsThen"/>).</param>
    private void HandleClaim(Claim claim, IActorRef replyTo, bool tailsAsked)
    {
        if (document!.Spec.Type != SubscriptionType.PullWake)
        {
            replyTo.Tell(new SubscriptionRejected(SubscriptionErrorCode.InvalidRequest, "claim, ack and release belong to pull-wake subscriptions; webhooks use the callback"));
            return;
        }

        if (wake?.Holder is { } holder)
        {
            replyTo.Tell(new SubscriptionRejected(SubscriptionErrorCode.AlreadyClaimed, $"the wake is claimed by '{holder}'", holder, wake.Generation));
            return;
        }

        if (!HasPending())
        {
            if (dependencies.Clustered && !tailsAsked)
            {
                AskTailsThen(document.Links.Keys.ToList(), replyTo, () => HandleClaim(claim, replyTo, tailsAsked: true));
                return;
            }

            replyTo.Tell(new SubscriptionRejected(SubscriptionErrorCode.NoPendingWork, "no linked stream has unacknowledged data"));
            return;
        }

        if (wake is null)
        {
            StartWake(then: () => Grant(claim.Worker, replyTo));
            return;
        }

        Grant(claim.Worker, replyTo);
    }

    /// <summary>
    /// In a cluster a stream's signal crosses the network and may arrive after the appender's next
    /// request. Before answering from tails that may be stale — a claim that would find nothing
    /// pending, an ack beyond the known tail — the owner asks <paramref name="names"/> for their
    /// tails and then handles the request again (<paramref name="retry"/>, once).
    /// </summary>
    private void AskTailsThen(IReadOnlyList<string> names, IActorRef replyTo, Action retry)
    {
        var streams = dependencies.Streams;
        var parallelism = dependencies.Settings.BackfillParallelism;
        var timeout = dependencies.AskTimeout;
        StreamTails.DescribeAsync(streams, names, parallelism, timeout)
            .PipeTo(Self, success: described => new TailsAskedFor(described, retry), failure: exception => new WorkFailed(exception, replyTo));
        BecomeBusy();
    }

    private void Grant(string worker, IActorRef replyTo)
    {
        wake = wake! with { Holder = worker, Streams = Progress() };
        StartLease(wake);
        replyTo.Tell(new WakeClaimed(wake.WakeId, wake.Generation, wake.Token, wake.Streams, document!.Spec.LeaseTtlMs));
    }

    private void HandleAck(Ack ack)
    {
        if (IsPullWake())
        {
            Report(ack.Token, ack.Report, Sender, tailsAsked: false);
        }
    }

    private void HandleRelease(Release release)
    {
        if (!IsPullWake() || Fenced(release.Token, release.WakeId, release.Generation) is { } refusal && Refuse(refusal))
        {
            return;
        }

        ClearWake();
        Sender.Tell(new SubscriptionChanged());
        MaybeWake();
    }

    private bool IsPullWake()
    {
        if (document!.Spec.Type == SubscriptionType.PullWake)
        {
            return true;
        }

        Sender.Tell(new SubscriptionRejected(SubscriptionErrorCode.InvalidRequest, "claim, ack and release belong to pull-wake subscriptions; webhooks use the callback"));
        return false;
    }

    private bool Refuse(SubscriptionRejected refusal)
    {
        Sender.Tell(refusal);
        return true;
    }

    /// <summary>A callback or an ack: validate, apply the acks durably, then end the wake when done.</summary>
    private void Report(string? token, WakeReport report, IActorRef replyTo, bool tailsAsked)
    {
        if (Fenced(token, report.WakeId, report.Generation) is { } refusal)
        {
            replyTo.Tell(refusal);
            return;
        }

        var links = new Dictionary<string, StreamLink>(document!.Links, StringComparer.Ordinal);
        foreach (var ack in report.Acks)
        {
            if (AckProblem(ack, links, out var offset, out var beyondTail) is { } problem)
            {
                if (beyondTail && dependencies.Clustered && !tailsAsked)
                {
                    // The stream's signal of the append may still be on its way.
                    AskTailsThen(report.Acks.Select(acked => acked.Stream).Distinct(StringComparer.Ordinal).ToList(), replyTo, () => Report(token, report, replyTo, tailsAsked: true));
                    return;
                }

                replyTo.Tell(new SubscriptionRejected(SubscriptionErrorCode.InvalidOffset, problem));
                return;
            }

            links[ack.Stream] = links[ack.Stream] with { AckedOffset = offset };
        }

        var current = wake!;
        SaveLinks(links, replyTo, () =>
        {
            if (!report.Done)
            {
                // A heartbeat: the holder is still working.
                if (wake?.WakeId == current.WakeId)
                {
                    StartLease(wake);
                }

                replyTo.Tell(new WakeAcknowledged(NextWake: false));
                return;
            }

            if (wake?.WakeId == current.WakeId)
            {
                ClearWake();
            }

            var nextWake = HasPending();
            replyTo.Tell(new WakeAcknowledged(nextWake));
            MaybeWake();
        });
    }

    /// <param name="beyondTail">The only problem is an offset beyond the tail this owner knows.</param>
    private string? AckProblem(StreamAck ack, Dictionary<string, StreamLink> links, out Offset offset, out bool beyondTail)
    {
        beyondTail = false;
        if (!Offset.TryParse(ack.Offset, out offset))
        {
            return $"ack offset '{ack.Offset}' is not an offset this server issued";
        }

        if (!links.TryGetValue(ack.Stream, out var link))
        {
            return $"'{ack.Stream}' is not a stream of this subscription";
        }

        if (offset.CompareTo(link.AckedOffset) < 0)
        {
            return $"ack offset {offset} of '{ack.Stream}' is behind its acked offset {link.AckedOffset}";
        }

        if (tails.TryGetValue(ack.Stream, out var tail) && offset.CompareTo(tail) > 0)
        {
            beyondTail = true;
            return $"ack offset {offset} of '{ack.Stream}' is beyond its tail {tail}";
        }

        return null;
    }

    /// <summary>
    /// Stale wake id or generation: 409 FENCED, whatever the token (that a wake is over is no secret).
    /// The current wake with a wrong token: 401.
    /// </summary>
    private SubscriptionRejected? Fenced(string? token, string wakeId, long generation)
    {
        if (wake is null || wake.WakeId != wakeId || wake.Generation != generation)
        {
            return new SubscriptionRejected(SubscriptionErrorCode.Fenced, "the wake is stale: a later generation has replaced it or it has ended", Generation: document!.Generation);
        }

        var expected = Encoding.ASCII.GetBytes(wake.Token);
        var given = Encoding.ASCII.GetBytes(token ?? string.Empty);
        return CryptographicOperations.FixedTimeEquals(expected, given)
            ? null
            : new SubscriptionRejected(SubscriptionErrorCode.TokenInvalid, "the bearer token does not belong to the current wake");
    }

    private void StartLease(Wake leased) =>
        Timers.StartSingleTimer(LeaseTimer, new LeaseExpired(leased.WakeId), TimeSpan.FromMilliseconds(document!.Spec.LeaseTtlMs));

    private void ClearWake()
    {
        wake = null;
        deliveryAttempts = 0;
        Timers.Cancel(LeaseTimer);
        Timers.Cancel(RetryTimer);
    }

    private string CallbackUrl() =>
        $"{document!.PublicBaseUrl}/v1/stream/__ds/subscriptions/{Uri.EscapeDataString(subscriptionId)}/callback";

    private static string RandomToken(int bytes) => WebhookSigningKeys.Base64Url(RandomNumberGenerator.GetBytes(bytes));

    private sealed record Wake(string WakeId, long Generation, string Token, IReadOnlyList<StreamProgress> Streams, string? Holder);

    private sealed record DeliveryCompleted(string WakeId, DeliveryOutcome Outcome);

    private sealed record RetryDelivery(string WakeId);

    private sealed record LeaseExpired(string WakeId);

    private sealed record WakeAnnounced(string? Error);

    private sealed record TailsAskedFor(Dictionary<string, Offset?> Tails, Action Retry);
}
