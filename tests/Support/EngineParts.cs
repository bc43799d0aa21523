using Streams.Actors.Domain;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;

namespace Streams.Tests.Support;

/// <summary>
/// The engine's parts on one data directory, wired the way <c>StreamsHostingExtensions</c> wires them
/// (index, WAL writer, segment store, tiered reader, hydrator, publisher, sealer, and the
/// <see cref="StreamDependencies"/> a stream owner needs), without a host and without the segmenter
/// and uploader actors, so a test decides when to seal and publish. Local state a previous process
/// left on the directory is recovered as a start-up would: leftover temp files swept, uploaded
/// segments known, the upload backlog counted.
/// </summary>
public sealed class EngineParts
{
    private EngineParts(string dataDirectory, IObjectStore objectStore, RestoreMode mode, StreamsSettings settings, TimeProvider clock)
    {
        DataDirectory = dataDirectory;
        ObjectStore = objectStore;
        Settings = settings;
        Clock = clock;
        Database = new StreamDatabase(dataDirectory);
        WalWriter = new WalWriter(Database, settings.WalMaxOperationsPerCommit);
        Queries = new PipelineQueries(Database);
        Files = new SegmentFiles(dataDirectory);
        Files.RemoveLeftoverTempFiles();
        Segments = new SegmentStore(Files, objectStore, settings.SegmentCacheBytes);
        foreach (var (name, index, size) in Queries.UploadedSegments())
        {
            Segments.MarkUploaded(name, index, size);
        }

        Reader = new TieredRecordReader(Database, Queries, Segments);
        Backlog = new UploadBacklog();
        Backlog.Reset(Queries.UnpublishedBytes());
        Drain = new DrainState();
        Hydrator = new StreamHydrator(objectStore, WalWriter, Database, clock);
        Publisher = new ManifestPublisher(Queries, WalWriter, Files, Segments, objectStore, clock);
        Sealer = new SegmentSealer(
            Queries,
            WalWriter,
            Files,
            new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = settings.SegmentBlockBytes }),
            new SealPolicy(settings.SegmentTargetRows, settings.SegmentTargetBytes, settings.SegmentMaxAge));
        Dependencies = new StreamDependencies(Database, WalWriter, Reader, Queries, Backlog, Drain, Hydrator, Publisher, Segments, mode, settings, clock, Compaction: CompactionGate);
    }

    public string DataDirectory { get; }

    public IObjectStore ObjectStore { get; }

    public StreamsSettings Settings { get; }

    public TimeProvider Clock { get; }

    public StreamDatabase Database { get; }

    public WalWriter WalWriter { get; }

    public PipelineQueries Queries { get; }

    public SegmentFiles Files { get; }

    public SegmentStore Segments { get; }

    public TieredRecordReader Reader { get; }

    public UploadBacklog Backlog { get; }

    public DrainState Drain { get; }

    public StreamHydrator Hydrator { get; }

    public ManifestPublisher Publisher { get; }

    public SegmentSealer Sealer { get; }

    /// <summary>Shared by the stream owners (which withhold a stream they evict) and a compactor, if one runs.</summary>
    public CompactionGate CompactionGate { get; } = new();

    public StreamDependencies Dependencies { get; }

    public static EngineParts Build(string dataDirectory, IObjectStore objectStore, RestoreMode mode, StreamsSettings settings, TimeProvider? clock = null) =>
        new(dataDirectory, objectStore, mode, settings, clock ?? TimeProvider.System);

    /// <summary>
    /// One round of what the segmenter and uploader do: seal every waiting record, publish pending
    /// tombstones, then publish every stream that is behind (with <paramref name="draining"/> every
    /// stream, marked cleanly drained, as a SIGTERM drain does).
    /// </summary>
    public async Task PublishAsync(bool draining)
    {
        await SealAllAsync();
        foreach (var tombstone in Queries.PendingTombstones())
        {
            await Publisher.PublishTombstoneAsync(tombstone, CancellationToken.None);
        }

        foreach (var streamId in Queries.FindStreamsToPublish(includeFullyPublished: draining))
        {
            await Publisher.PublishAsync(streamId, draining, CancellationToken.None);
        }
    }

    public Task SealAllAsync() => Sealer.SealDueAsync(Clock.GetUtcNow().ToUnixTimeMilliseconds(), force: true, CancellationToken.None);
}
