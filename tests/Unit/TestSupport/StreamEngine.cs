using Streams.Actors.Actors;
using Streams.Actors.Config;
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
        Dependencies = new StreamDependencies(Database, Writer, new WalRecordReader(Database), settings, Clock);
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
