using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.PipelineMessages;

namespace Streams.Actors.Actors;

/// <summary>
/// Compacts streams' small uploaded segments and deletes the objects they replaced once the grace
/// has passed, on a timer, one round at a time, a bounded number of streams at once, all off the actor
/// thread. It yields to sealing and uploading: no round starts while the upload backlog is above its
/// bound, and compactions only ever touch uploaded segments, so appends, seals and uploads never wait
/// for it; readers keep the segments they found (deleted only after the grace). A stream is compacted
/// only under a lease of the <see cref="CompactionGate"/>: never while it is handed off or evicted, and
/// nothing once the node drains (the gate is closed; no round starts again). A round is also run on
/// demand (<see cref="CompactNow"/>, answered when it is over). States: Idle, Compacting (a round asked
/// for meanwhile runs right after the current one), Stopped. Owns the per-stream record of when each
/// stream last sealed (to tell a quiet stream).
/// </summary>
public sealed class CompactorActor : ReceiveActor, IWithTimers
{
    private const string TickTimer = "compaction-tick";
    private readonly CompactionDependencies dependencies;
    private readonly IActorRef uploader;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private Dictionary<long, SealObservation> lastSeals = [];
    private readonly List<IActorRef> waiting = [];

    public CompactorActor(CompactionDependencies dependencies, IActorRef uploader)
    {
        this.dependencies = dependencies;
        this.uploader = uploader;
        Timers.StartPeriodicTimer(TickTimer, new Tick(), dependencies.Settings.CheckInterval);
        Idle();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="uploader">Told when a round committed new layouts, to publish them.</param>
    public static Props Props(CompactionDependencies dependencies, IActorRef uploader) =>
        Akka.Actor.Props.Create(() => new CompactorActor(dependencies, uploader));

    private void Idle()
    {
        Receive<Tick>(_ =>
        {
            if (dependencies.Gate.IsClosed)
            {
                // The node drains: its final publish must not meet a compaction started after it.
                Timers.Cancel(TickTimer);
                Become(Stopped);
                return;
            }

            // Sealing and uploading come first: while a backlog waits, compaction would only compete.
            if (dependencies.Backlog.Bytes <= dependencies.Settings.MaxUploadBacklogBytes)
            {
                StartRound([]);
            }
        });
        Receive<CompactNow>(_ => StartRound([Sender]));
    }

    private void Stopped()
    {
        Receive<Tick>(_ => { });
        Receive<CompactNow>(_ => Sender.Tell(new CompactionRoundFinished(0, 0, 0, "the node drains; compaction has stopped")));
    }

    private void Compacting()
    {
        Receive<Tick>(_ => { });
        Receive<CompactNow>(_ => waiting.Add(Sender));
        Receive<RoundFinished>(finished =>
        {
            lastSeals = finished.Observations;
            if (finished.Error is not null)
            {
                log.Warning("Compaction round failed: {0}", finished.Error);
            }

            foreach (var (streamId, error) in finished.Failures)
            {
                log.Warning("Compaction of stream {0} failed: {1}", streamId, error);
            }

            if (finished.StreamsCalledOff > 0)
            {
                log.Info("{0} compactions called off by a hand-off, an eviction or the drain; their merged objects go after the grace", finished.StreamsCalledOff);
            }

            if (finished.SegmentsRemoved > 0)
            {
                // The new layouts are committed locally; the uploader publishes them (batched).
                uploader.Tell(new SegmentsSealed(finished.StreamsCompacted));
            }

            // After telling the uploader, so whoever asked finds the new layouts queued for publishing.
            foreach (var requester in finished.Requesters)
            {
                requester.Tell(new CompactionRoundFinished(finished.StreamsCompacted, finished.SegmentsRemoved, finished.Failures.Count, finished.Error));
            }

            if (waiting.Count > 0)
            {
                var next = waiting.ToList();
                waiting.Clear();
                StartRound(next);
                return;
            }

            Become(Idle);
        });
    }

    private void StartRound(IReadOnlyList<IActorRef> requesters)
    {
        var roundDependencies = dependencies;
        var observations = new Dictionary<long, SealObservation>(lastSeals);
        var nowMs = dependencies.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Task.Run(() => RunRoundAsync(roundDependencies, observations, nowMs))
            .PipeTo(
                Self,
                success: result => result with { Requesters = requesters },
                failure: exception => new RoundFinished(0, 0, 0, new Dictionary<long, string>(), observations) { Error = exception.Message, Requesters = requesters });
        Become(Compacting);
    }

    private static async Task<RoundFinished> RunRoundAsync(
        CompactionDependencies dependencies,
        Dictionary<long, SealObservation> observations,
        long nowMs)
    {
        var (compactor, gate, queries, _, settings, _) = dependencies;
        var policy = compactor.Policy;
        var candidates = queries.FindCompactionCandidates(policy.TargetRows, policy.TargetBytes);
        var seen = new Dictionary<long, SealObservation>();
        var work = new List<(CompactionCandidate Candidate, bool Quiet)>();
        foreach (var candidate in candidates)
        {
            // A stream is quiet once its sealed_through has not moved for quiet-after.
            var observation = observations.TryGetValue(candidate.StreamId, out var previous) && previous.SealedThrough == candidate.SealedThrough
                ? previous
                : new SealObservation(candidate.SealedThrough, nowMs);
            seen[candidate.StreamId] = observation;
            work.Add((candidate, nowMs - observation.SinceMs >= settings.QuietAfter.TotalMilliseconds));
        }

        var removed = 0;
        var compacted = 0;
        var calledOff = 0;
        var failures = new ConcurrentDictionary<long, string>();
        await Parallel.ForEachAsync(
            work,
            new ParallelOptions { MaxDegreeOfParallelism = settings.Parallelism },
            async (item, _) =>
            {
                // Not while the stream is handed off or evicted, nor once the node drains.
                using var lease = gate.TryEnter(item.Candidate.StreamId);
                if (lease is null)
                {
                    return;
                }

                try
                {
                    var segmentsRemoved = await compactor.CompactAsync(item.Candidate, item.Quiet, lease.Token);
                    if (segmentsRemoved > 0)
                    {
                        Interlocked.Add(ref removed, segmentsRemoved);
                        Interlocked.Increment(ref compacted);
                    }
                }
                catch (OperationCanceledException) when (lease.Token.IsCancellationRequested)
                {
                    // Called off before its commit: the old segments stay listed, the merged objects are queued.
                    Interlocked.Increment(ref calledOff);
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    // Nothing is lost: the old segments stay listed; what was put is deleted after the grace.
                    failures[item.Candidate.StreamId] = exception.Message;
                }
            });

        // After the compactions, never during them: an unfinished compaction's merged objects are
        // queued for deletion, and only a compaction that did not commit may see them deleted.
        await compactor.DeleteReleasedAsync(settings.DeletionGrace, CancellationToken.None);
        return new RoundFinished(removed, compacted, calledOff, failures.ToDictionary(), seen);
    }

    private sealed record Tick;

    private sealed record SealObservation(long SealedThrough, long SinceMs);

    private sealed record RoundFinished(
        int SegmentsRemoved,
        int StreamsCompacted,
        int StreamsCalledOff,
        IReadOnlyDictionary<long, string> Failures,
        Dictionary<long, SealObservation> Observations)
    {
        public string? Error { get; init; }

        public IReadOnlyList<IActorRef> Requesters { get; init; } = [];
    }
}
