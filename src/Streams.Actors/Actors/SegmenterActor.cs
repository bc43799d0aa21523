using Akka.Actor;
using Akka.Event;
using Streams.Actors.Config;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.PipelineMessages;

namespace Streams.Actors.Actors;

/// <summary>
/// Seals WAL rows into segment files on a timer and on demand (drain). One round at a time; the
/// sealing itself runs off the actor thread. States: Idle, Sealing (a forced round asked for
/// meanwhile runs right after the current one). Owns its schedule and what the last full round saw:
/// a tick finds nothing to do, and runs no query, when the index has committed nothing since that
/// round began and no tail it left waiting has reached its age.
/// </summary>
public sealed class SegmenterActor : ReceiveActor, IWithTimers
{
    private const string TickTimer = "seal-tick";
    private readonly SegmentSealer sealer;
    private readonly IActorRef uploader;
    private readonly TimeProvider clock;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly List<IActorRef> forcedRequesters = [];
    private readonly List<(IActorRef Requester, long StreamId)> streamRequesters = [];

    /// <summary>What the last full round saw; null before the first and after a failed one.</summary>
    private Observed? lastRound;

    public SegmenterActor(SegmentSealer sealer, IActorRef uploader, StreamsSettings settings, TimeProvider clock)
    {
        this.sealer = sealer;
        this.uploader = uploader;
        this.clock = clock;
        Timers.StartPeriodicTimer(TickTimer, new Tick(), settings.SegmentCheckInterval);
        Idle();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SegmentSealer sealer, IActorRef uploader, StreamsSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new SegmenterActor(sealer, uploader, settings, clock));

    private void Idle()
    {
        Receive<Tick>(_ =>
        {
            if (!NothingDueSinceLastRound())
            {
                StartRound(force: false, requesters: []);
            }
        });
        Receive<SealAll>(_ => StartRound(force: true, requesters: [Sender]));
        Receive<SealStream>(seal => StartStreamRound([(Sender, seal.StreamId)]));
    }

    private void Sealing()
    {
        Receive<Tick>(_ => { });
        Receive<SealAll>(_ => forcedRequesters.Add(Sender));
        Receive<SealStream>(seal => streamRequesters.Add((Sender, seal.StreamId)));
        Receive<RoundFinished>(finished =>
        {
            if (finished.Error is not null)
            {
                log.Warning("Sealing round failed: {0}", finished.Error);
                lastRound = null;
            }
            else if (finished.Observed is { } observed)
            {
                lastRound = observed;
            }

            if (finished.StreamsSealed > 0)
            {
                uploader.Tell(new SegmentsSealed(finished.StreamsSealed));
            }

            foreach (var requester in finished.Requesters)
            {
                requester.Tell(new AllSealed(finished.StreamsSealed, finished.Error));
            }

            if (forcedRequesters.Count > 0)
            {
                var waiting = forcedRequesters.ToList();
                forcedRequesters.Clear();
                StartRound(force: true, waiting);
                return;
            }

            if (streamRequesters.Count > 0)
            {
                var waiting = streamRequesters.ToList();
                streamRequesters.Clear();
                StartStreamRound(waiting);
                return;
            }

            Become(Idle);
        });
    }

    private bool NothingDueSinceLastRound() =>
        lastRound is { } observed
        && observed.IndexCommits == sealer.IndexCommits
        && (observed.NextDueMs is not { } dueMs || clock.GetUtcNow().ToUnixTimeMilliseconds() < dueMs);

    private void StartRound(bool force, IReadOnlyList<IActorRef> requesters)
    {
        var roundSealer = sealer;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // Read before the round's query: a commit after this point makes the next tick look again.
        var commitsBefore = sealer.IndexCommits;
        Task.Run(() => roundSealer.SealDueRoundAsync(now, force, CancellationToken.None))
            .PipeTo(
                Self,
                success: round => new RoundFinished(round.SealedStreams.Count, null, requesters) { Observed = new Observed(commitsBefore, round.NextDueMs) },
                failure: exception => new RoundFinished(0, exception.Message, requesters));
        Become(Sealing);
    }

    /// <summary>A forced round over the named streams only.</summary>
    private void StartStreamRound(IReadOnlyList<(IActorRef Requester, long StreamId)> requests)
    {
        var roundSealer = sealer;
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var streamIds = requests.Select(request => request.StreamId).ToHashSet();
        IReadOnlyList<IActorRef> requesters = [.. requests.Select(request => request.Requester)];
        Task.Run(() => roundSealer.SealStreamsNowAsync(streamIds, now, CancellationToken.None))
            .PipeTo(
                Self,
                success: sealedStreams => new RoundFinished(sealedStreams.Count, null, requesters),
                failure: exception => new RoundFinished(0, exception.Message, requesters));
        Become(Sealing);
    }

    private sealed record Tick;

    /// <summary>Set by a round over every stream (not by one over named streams).</summary>
    private sealed record RoundFinished(int StreamsSealed, string? Error, IReadOnlyList<IActorRef> Requesters)
    {
        public Observed? Observed { get; init; }
    }

    /// <summary>The index's commit count when a full round began, and when the tail it left waiting is due.</summary>
    private sealed record Observed(long IndexCommits, long? NextDueMs);
}
