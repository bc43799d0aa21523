using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Protocol;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using static Streams.Actors.Protocol.PipelineMessages;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// One node of the engine on one data directory, assembled as <c>StreamsHostingExtensions</c>
/// assembles it — index, WAL writer, segment store, tiered reader, hydrator, publisher, sealer,
/// compactor, the stream supervisor and the real segmenter, uploader and compactor actors under the
/// names the hosting gives them. Their timers are set so far apart that none fires during a case:
/// the schedule sends the messages a tick (or a drain) would send and waits for the answer, so what
/// a crash loses is known exactly. Every part reads the schedule's clock.
/// </summary>
internal sealed class EngineNode
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Longer than any case runs: the pipeline actors' own timers never fire.</summary>
    private static readonly TimeSpan NeverTicks = TimeSpan.FromDays(1);

    /// <summary>
    /// Two equal small segments are merged at once (the default waits for four), so the short
    /// schedules of a case reach merges often; the quiet-time rule is reached by moving the clock.
    /// </summary>
    private const int CompactionFanIn = 2;

    /// <summary>A drain retries failed publishes as the host's drain does; these many rounds are plenty without injected faults.</summary>
    private const int MaxDrainRounds = 5;

    private static readonly Config ActorSystemConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """);

    private readonly ActorSystem system;
    private readonly IActorRef supervisor;
    private readonly IActorRef segmenter;
    private readonly IActorRef uploader;
    private readonly IActorRef compactor;

    private EngineNode(string dataDirectory, RestoreMode mode, EngineParts parts, ActorSystem system, IActorRef supervisor, IActorRef segmenter, IActorRef uploader, IActorRef compactor)
    {
        DataDirectory = dataDirectory;
        Mode = mode;
        Parts = parts;
        this.system = system;
        this.supervisor = supervisor;
        this.segmenter = segmenter;
        this.uploader = uploader;
        this.compactor = compactor;
    }

    public string DataDirectory { get; }

    public RestoreMode Mode { get; }

    public EngineParts Parts { get; }

    public StreamDatabase Database => Parts.Database;

    /// <summary>
    /// The tuning's segment size; pipeline timers that never fire; every upload round publishes what
    /// is behind (no minimum interval between two manifests of a stream, so the model need not follow
    /// the uploader's memory of publish times); a compaction fan-in of two. Compaction's quiet time and
    /// deletion grace keep their defaults: the schedule moves the clock past them.
    /// </summary>
    public static StreamsSettings SettingsFor(EngineTuning tuning)
    {
        var defaults = StreamsSettings.Default;
        return defaults with
        {
            SegmentTargetRows = tuning.SegmentTargetRows,
            SegmentBlockBytes = tuning.SegmentBlockBytes,
            SegmentCacheBytes = tuning.SegmentCacheBytes,
            SegmentCheckInterval = NeverTicks,
            UploadCheckInterval = NeverTicks,
            UploadManifestMinInterval = TimeSpan.Zero,
            Compaction = defaults.Compaction with { CheckInterval = NeverTicks, FanIn = CompactionFanIn },
        };
    }

    public static async Task<EngineNode> StartAsync(string dataDirectory, IObjectStore objectStore, RestoreMode mode, StreamsSettings settings, TimeProvider clock)
    {
        var parts = EngineParts.Build(dataDirectory, objectStore, mode, settings, clock);
        if (mode == RestoreMode.Eager)
        {
            // The server reports "restoring" until this completes; nothing is served before.
            var bootstrapper = new EagerBootstrapper(
                objectStore,
                parts.Hydrator,
                new RestoreStatus(),
                settings.RestoreParallelism,
                settings.RestoreProgressInterval,
                NullLogger<EagerBootstrapper>.Instance);
            await bootstrapper.RunAsync(CancellationToken.None);
        }

        var segmentCompactor = new SegmentCompactor(
            parts.Queries,
            parts.WalWriter,
            parts.Files,
            parts.Segments,
            objectStore,
            new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = settings.SegmentBlockBytes }),
            new CompactionPolicy(settings.SegmentTargetRows, settings.SegmentTargetBytes, settings.Compaction.FanIn),
            clock);
        var system = ActorSystem.Create("equivalence", ActorSystemConfig);
        // The names the hosting gives them: stream owners find the pipeline by these paths.
        var uploader = system.ActorOf(UploaderActor.Props(parts.Publisher, parts.Queries, parts.Backlog, parts.WalWriter, settings, clock), StreamActor.UploaderName);
        var segmenter = system.ActorOf(SegmenterActor.Props(parts.Sealer, uploader, settings, clock), StreamActor.SegmenterName);
        var supervisor = system.ActorOf(StreamSupervisorActor.Props(parts.Dependencies), "streams");
        var compactor = system.ActorOf(CompactorActor.Props(new CompactionDependencies(segmentCompactor, parts.CompactionGate, parts.Queries, parts.Backlog, settings.Compaction, clock), uploader), "compactor");
        return new EngineNode(dataDirectory, mode, parts, system, supervisor, segmenter, uploader, compactor);
    }

    public Task<object> AskAsync(IStreamCommand command) => supervisor.Ask<object>(command, AskTimeout);

    /// <summary>
    /// Delivers the owner's idle timeout now instead of after <c>streams.passivate-after</c>, so the
    /// schedule decides when a stream passivates (or is evicted) and the model can follow.
    /// </summary>
    public async Task IdleAsync(string streamName)
    {
        IActorRef owner;
        try
        {
            owner = await system.ActorSelection($"/user/streams/stream-{StreamNaming.Hash(streamName)}").ResolveOne(AskTimeout);
        }
        catch (ActorNotFoundException)
        {
            return;
        }

        owner.Tell(ReceiveTimeout.Instance);
    }

    /// <summary>
    /// The segmenter's forced round (what the drain sends). When it sealed anything it has told the
    /// uploader, which starts a round at once; the <see cref="PublishAll"/> sent after it queues behind
    /// that round, so its answer means the round the seal started is over too.
    /// </summary>
    public async Task<(AllSealed Sealed, AllPublished? Published)> SealAsync()
    {
        var sealedAll = await segmenter.Ask<AllSealed>(new SealAll(), AskTimeout);
        var published = sealedAll.StreamsSealed > 0 ? await PublishAsync() : null;
        return (sealedAll, published);
    }

    /// <summary>The uploader's periodic round: publish every stream that is behind.</summary>
    public Task<AllPublished> PublishAsync() => uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout);

    /// <summary>
    /// The compactor's round. When it removed segments it has told the uploader before answering, so
    /// the <see cref="PublishAll"/> sent next waits for the round that publishes the new layouts.
    /// </summary>
    public async Task<(CompactionRoundFinished Compacted, AllPublished? Published)> CompactAsync()
    {
        var compacted = await compactor.Ask<CompactionRoundFinished>(new CompactNow(), AskTimeout);
        var published = compacted.SegmentsRemoved > 0 ? await PublishAsync() : null;
        return (compacted, published);
    }

    /// <summary>The start of the drain the host runs on SIGTERM (<c>DrainCoordinator</c>): appends are refused from here on.</summary>
    public async Task BeginDrainAsync()
    {
        Parts.Drain.Begin();
        // Every append acknowledged from here on is already committed: the barrier commits after them.
        await Parts.WalWriter.Submit(new BarrierOperation());
    }

    /// <summary>The drain's publish round: every stream behind or not yet published as cleanly drained.</summary>
    public Task<AllPublished> PublishDrainingAsync() => uploader.Ask<AllPublished>(new PublishAll(Draining: true), AskTimeout);

    /// <summary>The whole drain, retried round by round as <c>DrainCoordinator</c> retries it.</summary>
    public async Task DrainAsync()
    {
        await BeginDrainAsync();
        for (var round = 1; ; round++)
        {
            var sealedAll = await segmenter.Ask<AllSealed>(new SealAll(), AskTimeout);
            var published = await PublishDrainingAsync();
            if (published.Failed == 0 && published.Error is null && sealedAll.Error is null)
            {
                return;
            }

            if (round == MaxDrainRounds)
            {
                throw new ReadEquivalenceViolation($"drain: still failing after {round} rounds: {sealedAll}, {published}");
            }
        }
    }

    /// <summary>Segment rows of a stream in the local index (none for a stream it does not hold).</summary>
    public int SegmentCount(string streamName) =>
        Database.LoadStream(streamName) is { } row ? Parts.Queries.LoadSegments(row.StreamId).Count : 0;

    /// <summary>Drops everything in memory without draining, as a killed process would.</summary>
    public async Task StopAsync()
    {
        await system.Terminate();
        await Parts.WalWriter.DisposeAsync();
        // Pooled read connections would keep the old database file open after its directory is gone.
        SqliteConnection.ClearAllPools();
    }
}
