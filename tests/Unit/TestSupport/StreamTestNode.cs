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
/// One node's engine without a host (<see cref="EngineParts"/>) on a temp directory of its own. The
/// object store is passed in, so two nodes can share one (a writer, then a restoring node). Sealing
/// and publishing run only when a test asks (<see cref="PublishAsync"/>), never on a timer.
/// </summary>
public sealed class StreamTestNode : IAsyncDisposable
{
    private readonly TempDirectory directory = new();
    private readonly EngineParts parts;

    public StreamTestNode(IObjectStore objectStore, RestoreMode restoreMode = RestoreMode.None, string? hocon = null, TimeProvider? clock = null)
    {
        var settings = StreamsSettings.From(hocon is null ? Config.Empty : ConfigurationFactory.ParseString(hocon));
        parts = EngineParts.Build(directory.Path, objectStore, restoreMode, settings, clock);
    }

    public string DataDirectory => directory.Path;

    public IObjectStore ObjectStore => parts.ObjectStore;

    public StreamsSettings Settings => parts.Settings;

    public StreamDatabase Database => parts.Database;

    public WalWriter WalWriter => parts.WalWriter;

    public PipelineQueries Queries => parts.Queries;

    public SegmentFiles Files => parts.Files;

    public SegmentStore Segments => parts.Segments;

    public StreamHydrator Hydrator => parts.Hydrator;

    public ManifestPublisher Publisher => parts.Publisher;

    public SegmentSealer Sealer => parts.Sealer;

    public UploadBacklog Backlog => parts.Backlog;

    public StreamDependencies Dependencies => parts.Dependencies;

    /// <summary>A compactor of this node's segments with the node's settings, as the hosting builds it.</summary>
    public SegmentCompactor NewCompactor() =>
        new(
            Queries,
            WalWriter,
            Files,
            Segments,
            ObjectStore,
            new SegmentWriter(),
            new CompactionPolicy(Settings.SegmentTargetRows, Settings.SegmentTargetBytes, Settings.Compaction.FanIn),
            TimeProvider.System);

    /// <inheritdoc cref="EngineParts.PublishAsync"/>
    public Task PublishAsync(bool draining) => parts.PublishAsync(draining);

    public async ValueTask DisposeAsync()
    {
        await WalWriter.DisposeAsync();
        // Pooled read connections keep the database file open; let them go before the directory does.
        SqliteConnection.ClearAllPools();
        directory.Dispose();
    }
}
