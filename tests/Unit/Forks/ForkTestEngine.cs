using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;

namespace Streams.Tests.Unit.Forks;

/// <summary>
/// The engine's real storage for one test (<see cref="EngineParts"/> on a temp directory, with a
/// local-directory object store inside it), plus a clock the test moves. Disposing it stops the
/// writer and deletes the directory.
/// </summary>
internal sealed class ForkTestEngine : IAsyncDisposable
{
    private readonly EngineParts parts;

    public ForkTestEngine()
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), $"streams-forks-{Guid.NewGuid():N}");
        Directory.CreateDirectory(DataDirectory);
        ObjectStore = new FileSystemObjectStore(Path.Combine(DataDirectory, "objects"));
        parts = EngineParts.Build(DataDirectory, ObjectStore, RestoreMode.None, StreamsSettings.Default, Clock);
    }

    public string DataDirectory { get; }

    public StreamsSettings Settings => parts.Settings;

    public ForkTestClock Clock { get; } = new();

    public StreamDatabase Database => parts.Database;

    public WalWriter Writer => parts.WalWriter;

    public PipelineQueries Queries => parts.Queries;

    public SegmentFiles Files => parts.Files;

    public FileSystemObjectStore ObjectStore { get; }

    public SegmentStore Segments => parts.Segments;

    public TieredRecordReader Reader => parts.Reader;

    public StreamDependencies Dependencies => parts.Dependencies;

    public SegmentSealer Sealer() => parts.Sealer;

    public ManifestPublisher Publisher() => parts.Publisher;

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
