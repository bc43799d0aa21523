using Streams.Actors.Domain;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Streams.Actors.Subscriptions;

namespace Streams.Actors.Hosting;

/// <summary>
/// Wires the engine into a host: local index, WAL writer, object store, the seal/upload pipeline,
/// the actor system with its stream supervisor, the gateway, and the drain on shutdown.
/// </summary>
public static class StreamsHostingExtensions
{
    /// <summary>Time the host gets beyond the drain timeout to stop everything else.</summary>
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(15);

    public static IServiceCollection AddStreams(this IServiceCollection services, StreamsEngineOptions options)
    {
        var hocon = options.HoconOverrides is { Length: > 0 } overrides
            ? Akka.Configuration.ConfigurationFactory.ParseString(overrides).WithFallback(StreamsSettings.DefaultConfig())
            : StreamsSettings.DefaultConfig();
        // The host decides when the actor system stops: after the drain, which still needs the actors.
        // Left on, the CLR exit hook would terminate the system the moment SIGTERM arrives.
        hocon = Akka.Configuration.ConfigurationFactory
            .ParseString("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off")
            .WithFallback(hocon);
        var settings = StreamsSettings.From(hocon);
        // A cluster node may be handed any stream at any time: it always restores lazily.
        var restoreMode = options.Cluster is null ? options.RestoreMode : RestoreMode.Lazy;
        var node = new StreamsNode(options.Cluster, options.Cluster is null ? Environment.MachineName : options.Cluster.PublicHost);

        services.AddSingleton(settings);
        services.AddSingleton(options);
        services.AddSingleton(node);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new StreamDatabase(options.DataDirectory));
        services.AddSingleton(provider => new WalWriter(
            provider.GetRequiredService<StreamDatabase>(),
            settings.WalMaxOperationsPerCommit));
        services.AddSingleton(provider => new PipelineQueries(provider.GetRequiredService<StreamDatabase>()));
        services.AddSingleton(provider => CreateObjectStore(options, provider));
        services.AddSingleton(provider =>
        {
            var files = new SegmentFiles(options.DataDirectory);
            // Temp files are left only by a crash before a rename; the index never refers to them.
            files.RemoveLeftoverTempFiles();
            // Nor to a file whose seal crashed before its commit: its name is never chosen again.
            files.RemoveUnreferencedFiles(provider.GetRequiredService<PipelineQueries>().LocalSegments().Select(s => files.PathFor(s.Name, s.StoredName)));
            return files;
        });
        services.AddSingleton(provider =>
        {
            var store = new SegmentStore(
                provider.GetRequiredService<SegmentFiles>(),
                provider.GetRequiredService<IObjectStore>(),
                settings.SegmentCacheBytes,
                settings.ReadCacheBytes);
            foreach (var (name, storedName, size) in provider.GetRequiredService<PipelineQueries>().UploadedSegments())
            {
                store.MarkUploaded(name, storedName, size);
            }

            return store;
        });
        services.AddSingleton<IRecordReader>(provider => new TieredRecordReader(
            provider.GetRequiredService<StreamDatabase>(),
            provider.GetRequiredService<PipelineQueries>(),
            provider.GetRequiredService<SegmentStore>()));
        services.AddSingleton(provider =>
        {
            var backlog = new UploadBacklog();
            backlog.Reset(provider.GetRequiredService<PipelineQueries>().UnpublishedBytes());
            return backlog;
        });
        services.AddStreamSubscriptions(options, hocon);
        services.AddSingleton<DrainState>();
        services.AddSingleton<CompactionGate>();
        services.AddSingleton<RestoreStatus>();
        services.AddSingleton(provider => new StreamHydrator(
            provider.GetRequiredService<IObjectStore>(),
            provider.GetRequiredService<WalWriter>(),
            provider.GetRequiredService<StreamDatabase>(),
            provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new EagerBootstrapper(
            provider.GetRequiredService<IObjectStore>(),
            provider.GetRequiredService<StreamHydrator>(),
            provider.GetRequiredService<RestoreStatus>(),
            settings.RestoreParallelism,
            settings.RestoreProgressInterval,
            provider.GetRequiredService<ILogger<EagerBootstrapper>>(),
            settings.RestoreStreamsPerCommit));
        services.AddSingleton(provider => new StreamDependencies(
            provider.GetRequiredService<StreamDatabase>(),
            provider.GetRequiredService<WalWriter>(),
            provider.GetRequiredService<IRecordReader>(),
            provider.GetRequiredService<PipelineQueries>(),
            provider.GetRequiredService<UploadBacklog>(),
            provider.GetRequiredService<DrainState>(),
            provider.GetRequiredService<StreamHydrator>(),
            provider.GetRequiredService<ManifestPublisher>(),
            provider.GetRequiredService<SegmentStore>(),
            restoreMode,
            settings,
            provider.GetRequiredService<TimeProvider>(),
            options.Cluster is null ? null : node,
            options.Cluster is null ? null : new ForkReferences(provider.GetRequiredService<IObjectStore>()),
            provider.GetRequiredService<CompactionGate>()));
        services.AddSingleton(provider => new SegmentSealer(
            provider.GetRequiredService<PipelineQueries>(),
            provider.GetRequiredService<WalWriter>(),
            provider.GetRequiredService<SegmentFiles>(),
            new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = settings.SegmentBlockBytes }),
            new SealPolicy(settings.SegmentTargetRows, settings.SegmentTargetBytes, settings.SegmentMaxAge)));
        services.AddSingleton(provider => new ManifestPublisher(
            provider.GetRequiredService<PipelineQueries>(),
            provider.GetRequiredService<WalWriter>(),
            provider.GetRequiredService<SegmentFiles>(),
            provider.GetRequiredService<SegmentStore>(),
            provider.GetRequiredService<IObjectStore>(),
            provider.GetRequiredService<TimeProvider>()));

        services.AddSingleton(provider => new SegmentCompactor(
            provider.GetRequiredService<PipelineQueries>(),
            provider.GetRequiredService<WalWriter>(),
            provider.GetRequiredService<SegmentFiles>(),
            provider.GetRequiredService<SegmentStore>(),
            provider.GetRequiredService<IObjectStore>(),
            new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = settings.SegmentBlockBytes }),
            new CompactionPolicy(settings.SegmentTargetRows, settings.SegmentTargetBytes, settings.Compaction.FanIn),
            provider.GetRequiredService<TimeProvider>()));

        services.AddAkka(options.ActorSystemName, (builder, provider) =>
        {
            builder.AddHocon(hocon, HoconAddMode.Append);
            builder.AddSetup(RemotingSerialization.Setup);
            if (options.ActorLogsThroughHost)
            {
                builder.ConfigureLoggers(loggers =>
                {
                    loggers.ClearLoggers();
                    loggers.AddLoggerFactory();
                });
            }
            if (options.Cluster is { } cluster)
            {
                builder.WithStreamsCluster(cluster, settings, node, provider.GetRequiredService<StreamDependencies>);
            }

            builder.WithActors((system, registry, _) =>
            {
                var clock = provider.GetRequiredService<TimeProvider>();
                ObserveEngine(provider.GetRequiredService<UploadBacklog>(), provider.GetRequiredService<RestoreStatus>());
                var uploader = system.ActorOf(
                    UploaderActor.Props(
                        provider.GetRequiredService<ManifestPublisher>(),
                        provider.GetRequiredService<PipelineQueries>(),
                        provider.GetRequiredService<UploadBacklog>(),
                        provider.GetRequiredService<WalWriter>(),
                        settings,
                        clock),
                    StreamActor.UploaderName);
                var segmenter = system.ActorOf(
                    SegmenterActor.Props(provider.GetRequiredService<SegmentSealer>(), uploader, settings, clock),
                    StreamActor.SegmenterName);
                registry.Register<UploaderActor>(uploader);
                registry.Register<SegmenterActor>(segmenter);
                if (options.Cluster is null)
                {
                    var supervisor = system.ActorOf(
                        StreamSupervisorActor.Props(provider.GetRequiredService<StreamDependencies>()),
                        "streams");
                    registry.Register<StreamSupervisorActor>(supervisor);
                }

                if (settings.Compaction.Enabled)
                {
                    registry.Register<CompactorActor>(system.ActorOf(
                        CompactorActor.Props(
                            new CompactionDependencies(
                                provider.GetRequiredService<SegmentCompactor>(),
                                provider.GetRequiredService<CompactionGate>(),
                                provider.GetRequiredService<PipelineQueries>(),
                                provider.GetRequiredService<UploadBacklog>(),
                                settings.Compaction,
                                clock),
                            uploader),
                        "compactor"));
                }
            });
            if (options.Cluster is { } subscriptionsCluster)
            {
                builder.WithClusterSubscriptionActors(provider, subscriptionsCluster);
            }
            else
            {
                builder.WithSubscriptionActors(provider);
            }
        });
        if (options.Cluster is null)
        {
            services.AddSingleton<IStreamsGateway, ActorStreamsGateway>();
        }
        else
        {
            services.AddSingleton<IStreamsGateway, ClusterStreamsGateway>();
            services.AddSingleton(provider => new StreamOwnerDirectory(node, settings, provider.GetRequiredService<TimeProvider>()));
        }

        if (restoreMode == RestoreMode.Eager)
        {
            services.AddHostedService<EagerRestoreService>();
        }

        services.AddHostedService<HeapCompactionService>();

        // Registered after the actor system so it is stopped before it: the drain needs the actors.
        if (options.Cluster is null)
        {
            services.AddHostedService<DrainCoordinator>();
        }
        else
        {
            StreamsClusterHosting.AddClusterStopSequence(services, () => services.AddHostedService<DrainCoordinator>());
        }

        // Every step of a stop honours the host's shutdown token, so this bounds SIGTERM to exit. A
        // cluster node first hands its shards off with its listener still open (ShardHandOffService).
        var shutdownTimeout = settings.DrainTimeout + ShutdownMargin + (options.Cluster is null ? TimeSpan.Zero : ShardHandOffService.Bound(settings));
        services.Configure<HostOptions>(host => host.ShutdownTimeout = shutdownTimeout);
        return services;
    }

    private static void ObserveEngine(UploadBacklog backlog, RestoreStatus restore) =>
        Telemetry.StreamsMetrics.Observe(() => backlog.Bytes, () => (restore.Total, restore.Done, restore.Failed));

    private static readonly TimeSpan TempFileClockMargin = TimeSpan.FromSeconds(1);

    private static void SweepTempFiles(FileSystemObjectStore store, DateTime writtenBeforeUtc, ILogger logger)
    {
        try
        {
            var removed = store.RemoveLeftoverTempFiles(writtenBeforeUtc);
            if (removed > 0)
            {
                logger.LogInformation("Object store: removed {Count} temp files left by interrupted writes", removed);
            }
        }
        catch (ObjectStoreException exception)
        {
            // Housekeeping only: a leftover temp file is never read, listed or restored.
            logger.LogWarning("Object store: could not remove leftover temp files: {Reason}", exception.Message);
        }
    }

    private static IObjectStore CreateObjectStore(StreamsEngineOptions options, IServiceProvider provider)
    {
        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Streams.ObjectStore");
        IObjectStore store;
        if (options.S3 is { } s3)
        {
            var s3Store = new S3ObjectStore(s3);
            // Created once at start-up so a misconfigured bucket fails the start, not the first upload.
            s3Store.EnsureBucketAsync(CancellationToken.None).GetAwaiter().GetResult();
            logger.LogInformation("Object store: S3 {Store}", s3);
            store = s3Store;
        }
        else
        {
            var root = options.FileSystemObjectStoreDirectory ?? Path.Combine(options.DataDirectory, "objects");
            var fileStore = new FileSystemObjectStore(root);
            // The sweep walks every object in the store, so at start-up it would make even a lazy
            // node's start grow with the backlog. Leftover temp files are invisible to every read and
            // listing, so the sweep runs in the background, leaving alone any temp file written after
            // it was scheduled (this node's own puts). The margin covers file times taken from the
            // kernel's coarse clock, which may lag the clock read here by a tick.
            var writtenBefore = DateTime.UtcNow - TempFileClockMargin;
            _ = Task.Run(() => SweepTempFiles(fileStore, writtenBefore, logger));
            logger.LogInformation("Object store: local directory {Root}", root);
            store = fileStore;
        }

        return options.ObjectStoreDecorator is { } decorate ? decorate(store) : store;
    }
}

/// <summary>What a host decides about the engine.</summary>
public sealed record StreamsEngineOptions
{
    public required string DataDirectory { get; init; }

    /// <summary>HOCON that overrides the embedded defaults of <c>streams.conf</c>.</summary>
    public string? HoconOverrides { get; init; }

    public string ActorSystemName { get; init; } = "streams";

    /// <summary>An S3-compatible bucket; when null the embedded local-directory store is used.</summary>
    public S3ObjectStoreOptions? S3 { get; init; }

    /// <summary>Root of the local-directory store; defaults to <c>objects/</c> under the data directory.</summary>
    public string? FileSystemObjectStoreDirectory { get; init; }

    public RestoreMode RestoreMode { get; init; } = RestoreMode.None;

    /// <summary>Webhooks may go to loopback and private addresses (<c>--allow-private-webhooks</c>).</summary>
    public bool AllowPrivateWebhooks { get; init; }

    /// <summary>Cluster mode when set; null: a single node with no remoting port.</summary>
    public StreamsClusterOptions? Cluster { get; init; }

    /// <summary>Wraps the object store (latency injection in benchmarks, counting in tests).</summary>
    public Func<IObjectStore, IObjectStore>? ObjectStoreDecorator { get; init; }

    /// <summary>The actor system logs through the host's logging (so JSON logs hold its lines too) instead of its own console writer.</summary>
    public bool ActorLogsThroughHost { get; init; }
}
