using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Streams.Tests.Unit.ObjectStore;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// One node's engine without a host: a local index in a temp directory of its own, the WAL writer,
/// the seal/publish pipeline and the <see cref="StreamDependencies"/> a stream owner needs, wired
/// the way <c>StreamsHostingExtensions</c> wires them. The object store is passed in, so two nodes
/// can share one (a writer, then a restoring node). Sealing and publishing run only when a test
/// asks (<see cref="PublishAsync"/>), never on a timer.
/// </summary>
public sealed class StreamTestNode : IAsyncDisposable
{
    private readonly TempDirectory directory = new();

    public StreamTestNode(IObjectStore objectStore, RestoreMode restoreMode = RestoreMode.None, string? hocon = null, TimeProvider? clock = null)
    {
        clock ??= TimeProvider.System;
        ObjectStore = objectStore;
        Settings = StreamsSettings.From(hocon is null ? Config.Empty : ConfigurationFactory.ParseString(hocon));
        Database = new StreamDatabase(directory.Path);
        WalWriter = new WalWriter(Database, Settings.WalMaxOperationsPerCommit);
        Queries = new PipelineQueries(Database);
        Files = new SegmentFiles(directory.Path);
        Segments = new SegmentStore(Files, objectStore, Settings.SegmentCacheBytes);
        Hydrator = new StreamHydrator(objectStore, WalWriter, Database, clock);
        Publisher = new ManifestPublisher(Queries, WalWriter, Files, Segments, objectStore, clock);
        Sealer = new SegmentSealer(
            Queries,
            WalWriter,
            Files,
            new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = Settings.SegmentBlockBytes }),
            new SealPolicy(Settings.SegmentTargetRows, Settings.SegmentTargetBytes, Settings.SegmentMaxAge));
        Backlog = new UploadBacklog();
        Dependencies = new StreamDependencies(
            Database,
            WalWriter,
            new TieredRecordReader(Database, Queries, Segments),
            Queries,
            Backlog,
            new DrainState(),
            Hydrator,
            Publisher,
            Segments,
            restoreMode,
            Settings,
            clock);
    }

    public string DataDirectory => directory.Path;

    public IObjectStore ObjectStore { get; }

    public StreamsSettings Settings { get; }

    public StreamDatabase Database { get; }

    public WalWriter WalWriter { get; }

    public PipelineQueries Queries { get; }

    public SegmentFiles Files { get; }

    public SegmentStore Segments { get; }

    public StreamHydrator Hydrator { get; }

    public ManifestPublisher Publisher { get; }

    public SegmentSealer Sealer { get; }

    public UploadBacklog Backlog { get; }

    public StreamDependencies Dependencies { get; }

    /// <summary>
    /// One round of what the segmenter and uploader do: seal every waiting record, publish pending
    /// tombstones, then publish every stream that is behind (with <paramref name="draining"/> every
    /// stream, marked cleanly drained, as a SIGTERM drain does).
    /// </summary>
    public async Task PublishAsync(bool draining)
    {
        await Sealer.SealDueAsync(Dependencies.Clock.GetUtcNow().ToUnixTimeMilliseconds(), force: true, CancellationToken.None);
        foreach (var tombstone in Queries.PendingTombstones())
        {
            await Publisher.PublishTombstoneAsync(tombstone, CancellationToken.None);
        }

        foreach (var streamId in Queries.FindStreamsToPublish(includeFullyPublished: draining))
        {
            await Publisher.PublishAsync(streamId, draining, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await WalWriter.DisposeAsync();
        // Pooled read connections keep the database file open; let them go before the directory does.
        SqliteConnection.ClearAllPools();
        directory.Dispose();
    }
}
