using Microsoft.Data.Sqlite;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// The server's own pipeline classes opened on a data directory while no server runs, so a test
/// can take the on-disk and object-store state to exactly the point a crash would have left it:
/// seal, upload and publish run for real and stop where the test's store decorator makes them.
/// </summary>
internal sealed class OfflinePipeline : IAsyncDisposable
{
    private const int MaxOperationsPerCommit = 256;
    private const long TargetBytes = 8 << 20;

    private readonly StreamDatabase database;
    private readonly WalWriter walWriter;
    private readonly PipelineQueries queries;
    private readonly SegmentFiles files;
    private readonly ManifestPublisher publisher;

    public OfflinePipeline(string dataDirectory, IObjectStore store)
    {
        database = new StreamDatabase(dataDirectory);
        walWriter = new WalWriter(database, MaxOperationsPerCommit);
        queries = new PipelineQueries(database);
        files = new SegmentFiles(dataDirectory);
        var segments = new SegmentStore(files, store, long.MaxValue);
        publisher = new ManifestPublisher(queries, walWriter, files, segments, store, TimeProvider.System);
    }

    public SegmentFiles Files => files;

    public StreamRow Stream(string name) => database.LoadStream(name) ?? throw new InvalidOperationException($"no stream {name}");

    /// <summary>Seals every waiting record into segments of at most <paramref name="targetRows"/> records (commit point 2).</summary>
    public async Task SealAllAsync(int targetRows)
    {
        var sealer = new SegmentSealer(queries, walWriter, files, new SegmentWriter(), new SealPolicy(targetRows, TargetBytes, TimeSpan.Zero));
        await sealer.SealDueAsync(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), force: true, CancellationToken.None);
    }

    /// <summary>Publishes every stream that is behind; the store's failures are returned, not thrown.</summary>
    public async Task<List<ObjectStoreException>> PublishAllAsync()
    {
        var failures = new List<ObjectStoreException>();
        foreach (var streamId in queries.FindStreamsToPublish(includeFullyPublished: false))
        {
            try
            {
                await publisher.PublishAsync(streamId, draining: false, CancellationToken.None);
            }
            catch (ObjectStoreException failure)
            {
                failures.Add(failure);
            }
        }

        return failures;
    }

    public async ValueTask DisposeAsync()
    {
        await walWriter.DisposeAsync();
        // Pooled read connections would keep the database files open after the test is done with them.
        SqliteConnection.ClearAllPools();
    }
}
