using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Streams.Actors.Config;
using Streams.Actors.Storage;
using Streams.Actors.Protocol;
using Streams.Actors.Telemetry;
using static Streams.Actors.Protocol.PipelineMessages;

namespace Streams.Actors.Actors;

/// <summary>
/// Uploads sealed segments and publishes manifests, several streams at once (bounded), each stream's
/// segments strictly in order. A stream whose upload fails waits out an exponential backoff with
/// jitter while the others keep flowing. States: Idle, Uploading. Owns the per-stream backoff table.
/// A stream whose manifest another node has replaced is forfeited (never published again) and its
/// owner told through the event stream (<see cref="FencingMessages.OwnershipLost"/>). A tick runs
/// no query when the index has committed nothing since the last full round began and that round
/// left nothing for later (no stream skipped for backoff or the manifest interval, no failure).
/// </summary>
public sealed class UploaderActor : ReceiveActor, IWithTimers
{
    private const string TickTimer = "upload-tick";
    private readonly ManifestPublisher publisher;
    private readonly string writerId;
    private readonly PipelineQueries queries;
    private readonly UploadBacklog backlog;
    private readonly WalWriter walWriter;
    private readonly StreamsSettings settings;
    private readonly TimeProvider clock;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly Dictionary<long, Backoff> backoffs = [];
    private readonly Dictionary<long, DateTimeOffset> lastPublished = [];
    private readonly List<(IActorRef Requester, bool Draining)> waiting = [];
    private readonly List<(IActorRef Requester, long StreamId)> streamRequests = [];
    private bool roundRequested;

    /// <summary>The index's commit count when the last full round began, if it left nothing for later.</summary>
    private long? settledAtCommits;

    public UploaderActor(
        ManifestPublisher publisher,
        PipelineQueries queries,
        UploadBacklog backlog,
        WalWriter walWriter,
        StreamsSettings settings,
        TimeProvider clock)
    {
        this.publisher = publisher;
        writerId = queries.Database.WriterId;
        this.queries = queries;
        this.backlog = backlog;
        this.walWriter = walWriter;
        this.settings = settings;
        this.clock = clock;
        Timers.StartPeriodicTimer(TickTimer, new Tick(), settings.UploadCheckInterval);
        Idle();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(
        ManifestPublisher publisher,
        PipelineQueries queries,
        UploadBacklog backlog,
        WalWriter walWriter,
        StreamsSettings settings,
        TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new UploaderActor(publisher, queries, backlog, walWriter, settings, clock));

    private void Idle()
    {
        Receive<Tick>(_ =>
        {
            if (settledAtCommits != walWriter.CommitCount)
            {
                StartRound(draining: false, requesters: []);
            }
        });
        Receive<SegmentsSealed>(_ => StartRound(draining: false, requesters: []));
        Receive<PublishAll>(publishAll => StartRound(publishAll.Draining, [Sender]));
        Receive<PublishStream>(publish => StartStreamRound([(Sender, publish.StreamId)]));
    }

    private void Uploading()
    {
        Receive<Tick>(_ => { });
        Receive<SegmentsSealed>(_ => roundRequested = true);
        Receive<PublishAll>(publishAll => waiting.Add((Sender, publishAll.Draining)));
        Receive<PublishStream>(publish => streamRequests.Add((Sender, publish.StreamId)));
        Receive<RoundFinished>(HandleRoundFinished);
    }

    private void HandleRoundFinished(RoundFinished finished)
    {
        var now = clock.GetUtcNow();
        foreach (var streamId in finished.Published)
        {
            backoffs.Remove(streamId);
            lastPublished[streamId] = now;
        }

        foreach (var (streamId, error) in finished.Failures)
        {
            var failures = backoffs.TryGetValue(streamId, out var previous) ? previous.Failures + 1 : 1;
            backoffs[streamId] = new Backoff(failures, now + BackoffDelay(failures));
            log.Warning("Upload of stream {0} failed ({1} in a row): {2}", streamId, failures, error);
        }

        foreach (var lost in finished.Lost)
        {
            log.Warning("Fenced: {0} Its local state was dropped; the new owner's manifest is restored on the next touch.", lost.Reason);
            if (lost.StreamId is { } streamId)
            {
                Context.System.EventStream.Publish(new FencingMessages.OwnershipLost(lost.StreamName, streamId, writerId));
            }
        }

        foreach (var (name, error) in finished.TombstoneFailures)
        {
            // Retried next round; the stream stays hidden locally meanwhile.
            log.Warning("Publishing the tombstone of stream {0} failed: {1}", name, error);
        }

        if (finished.Error is { } roundError)
        {
            // Nothing of this round is known to be published: the drain must not take it for done.
            log.Error("The upload round failed: {0}", roundError);
        }

        if (finished.CommitsBefore is { } commitsBefore)
        {
            settledAtCommits = finished.Error is null && !finished.LeftWork ? commitsBefore : null;
        }

        foreach (var requester in finished.Requesters)
        {
            requester.Tell(new AllPublished(finished.Published.Count, finished.Failures.Count, finished.TombstonesPublished) { Error = finished.Error });
        }

        if (streamRequests.Count > 0)
        {
            // Before the next full round: a stream being handed to another node holds its requests.
            var requests = streamRequests.ToList();
            streamRequests.Clear();
            StartStreamRound(requests);
            return;
        }

        if (waiting.Count > 0)
        {
            var next = waiting.ToList();
            waiting.Clear();
            StartRound(next.Any(w => w.Draining), [.. next.Select(w => w.Requester)]);
            return;
        }

        if (roundRequested)
        {
            roundRequested = false;
            StartRound(draining: false, requesters: []);
            return;
        }

        Become(Idle);
    }

    /// <summary>Doubles per failure between the configured bounds, times a jitter in [0.5, 1.5).</summary>
    private TimeSpan BackoffDelay(int failures)
    {
        var exponent = Math.Min(failures - 1, 30);
        var baseDelay = settings.UploadRetryMinBackoff * Math.Pow(2, exponent);
        if (baseDelay > settings.UploadRetryMaxBackoff)
        {
            baseDelay = settings.UploadRetryMaxBackoff;
        }

        return baseDelay * (0.5 + Random.Shared.NextDouble());
    }

    private void StartRound(bool draining, IReadOnlyList<IActorRef> requesters)
    {
        var now = clock.GetUtcNow();
        // Streams in backoff sit this round out, except when draining: then everything is tried.
        var skipped = draining
            ? []
            : backoffs.Where(pair => pair.Value.NextAttempt > now).Select(pair => pair.Key).ToHashSet();
        // A stream published less than the minimum interval ago waits for a later round (the periodic
        // tick), so a quick succession of seals goes out as one batch under one manifest. Its records
        // stay in the WAL meanwhile; nothing is acknowledged later or lost.
        foreach (var (streamId, publishedAt) in lastPublished.ToList())
        {
            if (now - publishedAt >= settings.UploadManifestMinInterval)
            {
                lastPublished.Remove(streamId);
            }
            else if (!draining)
            {
                skipped.Add(streamId);
            }
        }
        var roundPublisher = publisher;
        var roundQueries = queries;
        var roundBacklog = backlog;
        var roundWriter = walWriter;
        var parallelism = settings.UploadParallelism;
        // Read before the round's queries: a commit after this point makes the next tick look again.
        var commitsBefore = walWriter.CommitCount;
        Task.Run(() => RunRoundAsync(roundPublisher, roundQueries, roundBacklog, roundWriter, draining, skipped, parallelism))
            .PipeTo(
                Self,
                success: result => result with { Requesters = requesters, CommitsBefore = commitsBefore },
                failure: exception => new RoundFinished([], new Dictionary<long, string>(), 0, new Dictionary<string, string>(), requesters, [])
                {
                    Error = exception.Message,
                    CommitsBefore = commitsBefore,
                });
        Become(Uploading);
    }

    /// <summary>A draining round over the named streams only, backoff or not.</summary>
    private void StartStreamRound(IReadOnlyList<(IActorRef Requester, long StreamId)> requests)
    {
        var roundPublisher = publisher;
        var roundQueries = queries;
        var roundBacklog = backlog;
        var roundWriter = walWriter;
        var parallelism = settings.UploadParallelism;
        var only = requests.Select(request => request.StreamId).ToHashSet();
        IReadOnlyList<IActorRef> requesters = [.. requests.Select(request => request.Requester)];
        Task.Run(() => RunRoundAsync(roundPublisher, roundQueries, roundBacklog, roundWriter, draining: true, skipped: [], parallelism, only))
            .PipeTo(
                Self,
                success: result => result with { Requesters = requesters },
                failure: exception => new RoundFinished([], new Dictionary<long, string>(), 0, new Dictionary<string, string>(), requesters, []) { Error = exception.Message });
        Become(Uploading);
    }

    /// <param name="only">When set, publish just these streams (and no tombstones).</param>
    private static async Task<RoundFinished> RunRoundAsync(
        ManifestPublisher publisher,
        PipelineQueries queries,
        UploadBacklog backlog,
        WalWriter walWriter,
        bool draining,
        HashSet<long> skipped,
        int parallelism,
        HashSet<long>? only = null)
    {
        var tombstones = 0;
        var lost = new ConcurrentBag<LostStream>();
        var tombstoneFailures = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tombstone in only is null ? queries.PendingTombstones() : [])
        {
            try
            {
                await publisher.PublishTombstoneAsync(tombstone, CancellationToken.None);
                tombstones++;
            }
            catch (ManifestConflictException conflict)
            {
                await walWriter.Submit(new DropTombstoneOperation(tombstone.Name, tombstone.Generation));
                lost.Add(new LostStream(tombstone.Name, null, $"tombstone not published, {conflict.Message}."));
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                tombstoneFailures[tombstone.Name] = exception.Message;
            }
        }

        var published = new ConcurrentBag<long>();
        var failures = new ConcurrentDictionary<long, string>();
        var leftForLater = 0;
        var candidates = only?.AsEnumerable()
            ?? queries.FindStreamsToPublish(includeFullyPublished: draining)
                .Where(id =>
                {
                    var later = skipped.Contains(id);
                    leftForLater += later ? 1 : 0;
                    return !later;
                })
                .ToList();
        await Parallel.ForEachAsync(
            candidates,
            new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            async (streamId, cancellationToken) =>
            {
                try
                {
                    if (await publisher.PublishAsync(streamId, draining, cancellationToken))
                    {
                        published.Add(streamId);
                        StreamsMetrics.UploadSucceeded();
                    }
                }
                catch (ManifestConflictException conflict)
                {
                    // Never retried: the stream is someone else's now. Forfeiting drops what this node
                    // held of it (unpublished appends included), so no later round tries again.
                    var forfeited = await publisher.ForfeitAsync(streamId, conflict.StreamName);
                    lost.Add(new LostStream(
                        conflict.StreamName,
                        streamId,
                        forfeited ? $"{conflict.Message}." : $"{conflict.Message}; a local fork still reads it, so its rows stay, unpublished."));
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    failures[streamId] = exception.Message;
                    StreamsMetrics.UploadFailed(exception);
                    try
                    {
                        await walWriter.Submit(new UploadFailedOperation(streamId, exception.Message));
                    }
                    catch (Exception recordFailure) when (recordFailure is not OutOfMemoryException)
                    {
                        // Only bookkeeping for _details; the upload itself is retried either way.
                    }
                }
            });

        backlog.Reset(queries.UnpublishedBytes());
        return new RoundFinished([.. published], failures.ToDictionary(), tombstones, tombstoneFailures, [], [.. lost])
        {
            LeftWork = leftForLater > 0 || !failures.IsEmpty || tombstoneFailures.Count > 0,
        };
    }

    private sealed record Tick;

    private sealed record Backoff(int Failures, DateTimeOffset NextAttempt);

    /// <summary>A stream (or, with no id, a pending tombstone) another node has taken over.</summary>
    private sealed record LostStream(string StreamName, long? StreamId, string Reason);

    private sealed record RoundFinished(
        IReadOnlyList<long> Published,
        IReadOnlyDictionary<long, string> Failures,
        int TombstonesPublished,
        IReadOnlyDictionary<string, string> TombstoneFailures,
        IReadOnlyList<IActorRef> Requesters,
        IReadOnlyList<LostStream> Lost)
    {
        public string? Error { get; init; }

        /// <summary>Streams skipped for later, or failures to retry: the next tick must look again.</summary>
        public bool LeftWork { get; init; }

        /// <summary>The index's commit count when a full round began; null for a round over named streams.</summary>
        public long? CommitsBefore { get; init; }
    }
}
