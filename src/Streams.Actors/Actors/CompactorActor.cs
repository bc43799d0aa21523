using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Streams.Actors.Config;
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
/// nothing once the node drains (the gate is closed; no round starts again). States: Idle, Compacting,
/// Stopped. Owns the per-stream record of when each stream last sealed (to tell a quiet stream).
/// </summary>
public sealed class CompactorActor : ReceiveActor, IWithTimers
{
    private const string TickTimer = "compaction-tick";
    private readonly SegmentCompactor compactor;
    private readonly CompactionGate gate;
    private readonly PipelineQueries queries;
    private readonly UploadBacklog backlog;
    private readonly IActorRef uploader;
    private readonly CompactionSettings settings;
    private readonly TimeProvider clock;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private Dictionary<long, SealObservation> lastSeals = [];

    public CompactorActor(
        SegmentCompactor compactor,
        CompactionGate gate,
        PipelineQueries queries,
        UploadBacklog backlog,
        IActorRef uploader,
        CompactionSettings settings,
        TimeProvider clock)
    {
        this.compactor = compactor;
        this.gate = gate;
        this.queries = queries;
        this.backlog = backlog;
        this.uploader = uploader;
        this.settings = settings;
        this.clock = clock;
        Timers.StartPeriodicTimer(TickTimer, new Tick(), settings.CheckInterval);
        Idle();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(
        SegmentCompactor compactor,
        CompactionGate gate,
        PipelineQueries queries,
        UploadBacklog backlog,
        IActorRef uploader,
        CompactionSettings settings,
        TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new CompactorActor(compactor, gate, queries, backlog, uploader, settings, clock));

    private void Idle()
    {
        Receive<Tick>(_ =>
        {
            if (gate.IsClosed)
            {
                // The node drains: its final publish must not meet a compaction started after it.
                Timers.Cancel(TickTimer);
                Become(Stopped);
                return;
            }

            // Sealing and uploading come first: while a backlog waits, compaction would only compete.
            if (backlog.Bytes <= settings.MaxUploadBacklogBytes)
            {
                StartRound();
            }
        });
    }

    private void Stopped() => Receive<Tick>(_ => { });

    private void Compacting()
    {
        Receive<Tick>(_ => { });
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

            Become(Idle);
        });
    }

    private void StartRound()
    {
        var roundCompactor = compactor;
        var roundGate = gate;
        var roundQueries = queries;
        var roundSettings = settings;
        var observations = new Dictionary<long, SealObservation>(lastSeals);
        var nowMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
        Task.Run(() => RunRoundAsync(roundCompactor, roundGate, roundQueries, roundSettings, observations, nowMs))
            .PipeTo(
                Self,
                success: result => result,
                failure: exception => new RoundFinished(0, 0, 0, new Dictionary<long, string>(), observations) { Error = exception.Message });
        Become(Compacting);
    }

    private static async Task<RoundFinished> RunRoundAsync(
        SegmentCompactor compactor,
        CompactionGate gate,
        PipelineQueries queries,
        CompactionSettings settings,
        Dictionary<long, SealObservation> observations,
        long nowMs)
    {
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
    }
}
