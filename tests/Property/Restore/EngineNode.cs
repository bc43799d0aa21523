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

namespace Streams.Tests.Property.Restore;

/// <summary>
/// One node of the engine on one data directory, assembled as <c>StreamsHostingExtensions</c>
/// assembles it — index, WAL writer, segment store, tiered reader, hydrator, publisher, sealer and
/// the stream supervisor — but without the segmenter and uploader actors: the schedule decides
/// when to seal and publish, so what a crash loses is known exactly.
/// </summary>
internal sealed class EngineNode
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);

    private static readonly Config ActorSystemConfig = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """);

    private readonly ActorSystem system;
    private readonly IActorRef supervisor;

    private EngineNode(
        string dataDirectory,
        StreamDatabase database,
        WalWriter walWriter,
        PipelineQueries queries,
        DrainState drain,
        SegmentSealer sealer,
        ManifestPublisher publisher,
        ActorSystem system,
        IActorRef supervisor)
    {
        DataDirectory = dataDirectory;
        Database = database;
        WalWriter = walWriter;
        Queries = queries;
        Drain = drain;
        Sealer = sealer;
        Publisher = publisher;
        this.system = system;
        this.supervisor = supervisor;
    }

    public string DataDirectory { get; }

    public StreamDatabase Database { get; }

    public WalWriter WalWriter { get; }

    public PipelineQueries Queries { get; }

    public DrainState Drain { get; }

    public SegmentSealer Sealer { get; }

    public ManifestPublisher Publisher { get; }

    public static StreamsSettings SettingsFor(EngineTuning tuning) =>
        StreamsSettings.Default with
        {
            SegmentTargetRows = tuning.SegmentTargetRows,
            SegmentBlockBytes = tuning.SegmentBlockBytes,
            SegmentCacheBytes = tuning.SegmentCacheBytes,
        };

    public RestoreMode Mode { get; private init; }

    public static async Task<EngineNode> StartAsync(string dataDirectory, IObjectStore objectStore, RestoreMode mode, StreamsSettings settings)
    {
        var parts = EngineParts.Build(dataDirectory, objectStore, mode, settings);
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

        var system = ActorSystem.Create("equivalence", ActorSystemConfig);
        var supervisor = system.ActorOf(StreamSupervisorActor.Props(parts.Dependencies), "streams");
        return new EngineNode(dataDirectory, parts.Database, parts.WalWriter, parts.Queries, parts.Drain, parts.Sealer, parts.Publisher, system, supervisor) { Mode = mode };
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

    public Task SealAllAsync() =>
        Sealer.SealDueAsync(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(), force: true, CancellationToken.None);

    /// <summary>The drain the host runs on SIGTERM: refuse appends, seal everything, publish everything as drained.</summary>
    public async Task DrainAsync()
    {
        Drain.Begin();
        await WalWriter.Submit(new BarrierOperation());
        await SealAllAsync();
        foreach (var streamId in Queries.FindStreamsToPublish(includeFullyPublished: true))
        {
            await Publisher.PublishAsync(streamId, draining: true, CancellationToken.None);
        }
    }

    /// <summary>Drops everything in memory without draining, as a killed process would.</summary>
    public async Task StopAsync()
    {
        await system.Terminate();
        await WalWriter.DisposeAsync();
        // Pooled read connections would keep the old database file open after its directory is gone.
        SqliteConnection.ClearAllPools();
    }
}
