using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// The engine's real storage for one test: a temp directory, the SQLite index and the group-commit
/// writer, plus a clock the test controls. Disposing it stops the writer and deletes the directory.
/// </summary>
internal sealed class StreamEngine : IAsyncDisposable
{
    private readonly TempDataDirectory directory;

    public StreamEngine(StreamsSettings settings)
    {
        directory = new TempDataDirectory("engine");
        Settings = settings;
        Database = new StreamDatabase(directory.Path);
        Writer = new WalWriter(Database, settings.WalMaxOperationsPerCommit);
        var queries = new PipelineQueries(Database);
        var objectStore = new FileSystemObjectStore(System.IO.Path.Combine(directory.Path, "objects"));
        var files = new SegmentFiles(directory.Path);
        var segments = new SegmentStore(files, objectStore, settings.SegmentCacheBytes);
        Dependencies = new StreamDependencies(
            Database,
            Writer,
            new TieredRecordReader(Database, queries, segments),
            queries,
            new UploadBacklog(),
            new DrainState(),
            new StreamHydrator(objectStore, Writer, Database, Clock),
            new ManifestPublisher(queries, Writer, files, segments, objectStore, Clock),
            segments,
            RestoreMode.None,
            settings,
            Clock);
    }

    public StreamsSettings Settings { get; }

    public ManualTimeProvider Clock { get; } = new();

    public StreamDatabase Database { get; }

    public WalWriter Writer { get; }

    public StreamDependencies Dependencies { get; }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        directory.Dispose();
    }
}
