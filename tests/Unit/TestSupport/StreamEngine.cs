using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// The engine's real storage for one test (<see cref="EngineParts"/> on a temp directory, with a
/// local-directory object store inside it) and a clock the test controls. Disposing it stops the
/// writer and deletes the directory.
/// </summary>
internal sealed class StreamEngine : IAsyncDisposable
{
    private readonly TempDataDirectory directory;
    private readonly EngineParts parts;

    public StreamEngine(StreamsSettings settings)
    {
        directory = new TempDataDirectory("engine");
        var objectStore = new FileSystemObjectStore(System.IO.Path.Combine(directory.Path, "objects"));
        parts = EngineParts.Build(directory.Path, objectStore, RestoreMode.None, settings, Clock);
    }

    public StreamsSettings Settings => parts.Settings;

    public ManualTimeProvider Clock { get; } = new();

    public StreamDatabase Database => parts.Database;

    public WalWriter Writer => parts.WalWriter;

    public StreamDependencies Dependencies => parts.Dependencies;

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        directory.Dispose();
    }
}
