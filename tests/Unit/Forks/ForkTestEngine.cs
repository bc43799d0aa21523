using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;

namespace Streams.Tests.Unit.Forks;

/// <summary>
/// The engine's real storage for one test: a temp directory with the SQLite index, the group-commit
/// writer, segment files, a local-directory object store and the tiered reader, plus a clock the test
/// moves. Disposing it stops the writer and deletes the directory.
/// </summary>
internal sealed class ForkTestEngine : IAsyncDisposable
{
    private const long SegmentCacheBytes = 1 << 20;

    public ForkTestEngine()
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), $"streams-forks-{Guid.NewGuid():N}");
        Directory.CreateDirectory(DataDirectory);
        Settings = StreamsSettings.Default;
        Database = new StreamDatabase(DataDirectory);
        Writer = new WalWriter(Database, Settings.WalMaxOperationsPerCommit);
        Queries = new PipelineQueries(Database);
        Files = new SegmentFiles(DataDirectory);
        ObjectStore = new FileSystemObjectStore(Path.Combine(DataDirectory, "objects"));
        Segments = new SegmentStore(Files, ObjectStore, SegmentCacheBytes);
        Reader = new TieredRecordReader(Database, Queries, Segments);
        Dependencies = new StreamDependencies(
            Database,
            Writer,
            Reader,
            Queries,
            new UploadBacklog(),
            new DrainState(),
            new StreamHydrator(ObjectStore, Writer, Database, Clock),
            new ManifestPublisher(Queries, Writer, Files, Segments, ObjectStore, Clock),
            Segments,
            RestoreMode.None,
            Settings,
            Clock);
    }

    public string DataDirectory { get; }

    public StreamsSettings Settings { get; }

    public ForkTestClock Clock { get; } = new();

    public StreamDatabase Database { get; }

    public WalWriter Writer { get; }

    public PipelineQueries Queries { get; }

    public SegmentFiles Files { get; }

    public FileSystemObjectStore ObjectStore { get; }

    public SegmentStore Segments { get; }

    public TieredRecordReader Reader { get; }

    public StreamDependencies Dependencies { get; }

    public SegmentSealer Sealer() =>
        new(Queries, Writer, Files, new SegmentWriter(), new SealPolicy(TargetRows: 1000, TargetBytes: 1 << 20, MaxAge: TimeSpan.FromHours(1)));

    public ManifestPublisher Publisher() => new(Queries, Writer, Files, Segments, ObjectStore, Clock);

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>A clock that only moves when the test says so, for TTL expiry without waiting.</summary>
internal sealed class ForkTestClock : TimeProvider
{
    // Ticks, so that the test thread can move the clock while actor threads read it.
    private long utcTicks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref utcTicks, by.Ticks);
}
