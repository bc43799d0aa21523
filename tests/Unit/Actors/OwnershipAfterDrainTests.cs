using Akka.Actor;
using Akka.TestKit.Xunit2;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Streams.Tests.Unit.Storage.Segments;
using Xunit;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// A node drains cleanly, restarts on the same disk and appends again. Its clean manifest promised
/// the next owner that nothing past it was acknowledged; that promise must be withdrawn before the
/// new append is acknowledged, or losing the disk hands the new append's offsets out a second time.
/// </summary>
public sealed class OwnershipAfterDrainTests : TestKit
{
    private const string StreamName = "drained";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Should_publish_a_manifest_not_marked_drained_when_appending_again_after_a_clean_drain()
    {
        using var directory = new TempDirectory();
        var objectStore = new FileSystemObjectStore(Path.Combine(directory.Path, "objects"));
        var disk = Path.Combine(directory.Path, "disk");
        await CreateAppendAndDrainAsync(disk, objectStore);
        Assert.True((await ReadManifestAsync(objectStore)).DrainedClean);

        await using var restarted = Node.Start(this, disk, objectStore, RestoreMode.None);
        await restarted.AppendAsync("b");

        var manifest = await ReadManifestAsync(objectStore);
        Assert.False(manifest.DrainedClean);
        Assert.Equal(1, manifest.NextPosition);
    }

    [Fact]
    public async Task Should_not_reuse_an_offset_when_appends_after_a_clean_drain_are_lost_with_the_disk()
    {
        using var directory = new TempDirectory();
        var objectStore = new FileSystemObjectStore(Path.Combine(directory.Path, "objects"));
        var firstDisk = Path.Combine(directory.Path, "disk-1");
        await CreateAppendAndDrainAsync(firstDisk, objectStore);
        Offset lostTail;
        await using (var restarted = Node.Start(this, firstDisk, objectStore, RestoreMode.None))
        {
            lostTail = (await restarted.AppendAsync("b")).NextOffset;
        }

        // The first disk is gone with "b"; a new node restores the stream from its manifest.
        await using var replacement = Node.Start(this, Path.Combine(directory.Path, "disk-2"), objectStore, RestoreMode.Lazy);
        var appended = await replacement.AppendAsync("c");

        Assert.Equal(lostTail.Position, appended.NextOffset.Position);
        Assert.True(appended.NextOffset.CompareTo(lostTail) > 0, $"{appended.NextOffset} names other data than {lostTail} did");
    }

    [Fact]
    public async Task Should_claim_again_before_appending_when_the_node_died_after_putting_its_clean_manifest()
    {
        using var directory = new TempDirectory();
        var objectStore = new FileSystemObjectStore(Path.Combine(directory.Path, "objects"));
        var disk = Path.Combine(directory.Path, "disk");
        await using (var node = Node.Start(this, disk, objectStore, RestoreMode.None))
        {
            Assert.IsType<StreamCreated>(await node.AskAsync(new CreateStream(StreamName, ContentTypes.Default, null, null, Closed: false, [])));
            await node.AppendAsync("a");
        }

        // The drain's manifest reaches the store; the process dies before the index records it.
        await using (var dying = Node.Start(this, disk, new DiesAfterManifestPut(objectStore), RestoreMode.None))
        {
            await Assert.ThrowsAsync<ProcessDiedException>(dying.DrainAsync);
        }

        Assert.True((await ReadManifestAsync(objectStore)).DrainedClean);
        await using var restarted = Node.Start(this, disk, objectStore, RestoreMode.None);
        await restarted.AppendAsync("b");

        // Claimed before "b" was acknowledged: a restore from the store now opens a new epoch.
        var manifest = await ReadManifestAsync(objectStore);
        Assert.False(manifest.DrainedClean);
        Assert.Equal(1, manifest.NextPosition);
    }

    private async Task CreateAppendAndDrainAsync(string disk, IObjectStore objectStore)
    {
        await using var node = Node.Start(this, disk, objectStore, RestoreMode.None);
        Assert.IsType<StreamCreated>(await node.AskAsync(new CreateStream(StreamName, ContentTypes.Default, null, null, Closed: false, [])));
        await node.AppendAsync("a");
        await node.DrainAsync();
    }

    private static async Task<StreamManifest> ReadManifestAsync(IObjectStore objectStore)
    {
        var bytes = await objectStore.GetAsync(ObjectStoreKeys.ManifestKey(StreamName), CancellationToken.None);
        Assert.NotNull(bytes);
        return StreamManifest.Parse(bytes);
    }

    private sealed class ProcessDiedException(string key) : Exception($"the process died after putting {key}");

    /// <summary>Every put reaches the store; a manifest put then throws, as if the process died right after it.</summary>
    private sealed class DiesAfterManifestPut(IObjectStore inner) : IObjectStore
    {
        public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
        {
            await inner.PutAsync(key, content, cancellationToken);
            ThrowIfManifest(key);
        }

        public async Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
        {
            var version = await inner.PutIfVersionAsync(key, content, expectedVersion, cancellationToken);
            ThrowIfManifest(key);
            return version;
        }

        public Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken) => inner.GetVersionedAsync(key, cancellationToken);

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken) => inner.HeadAsync(key, cancellationToken);

        public Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken) =>
            inner.ListAsync(prefix, continuationToken, maxKeys, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        private static void ThrowIfManifest(string key)
        {
            if (ObjectStoreKeys.IsManifestKey(key))
            {
                throw new ProcessDiedException(key);
            }
        }
    }

    /// <summary>The engine on one disk, without the timer-driven segmenter and uploader: the test seals and publishes.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private static int instances;
        private readonly IActorRef supervisor;
        private readonly WalWriter walWriter;
        private readonly StreamDependencies dependencies;
        private readonly SegmentSealer sealer;

        private Node(IActorRef supervisor, WalWriter walWriter, StreamDependencies dependencies, SegmentSealer sealer)
        {
            this.supervisor = supervisor;
            this.walWriter = walWriter;
            this.dependencies = dependencies;
            this.sealer = sealer;
        }

        public static Node Start(TestKit testKit, string disk, IObjectStore objectStore, RestoreMode mode)
        {
            var settings = StreamsSettings.Default;
            var clock = TimeProvider.System;
            var database = new StreamDatabase(disk);
            var walWriter = new WalWriter(database, settings.WalMaxOperationsPerCommit);
            var queries = new PipelineQueries(database);
            var files = new SegmentFiles(disk);
            var segments = new SegmentStore(files, objectStore, settings.SegmentCacheBytes);
            var publisher = new ManifestPublisher(queries, walWriter, files, segments, objectStore, clock);
            var sealer = new SegmentSealer(
                queries,
                walWriter,
                files,
                new SegmentWriter(),
                new SealPolicy(settings.SegmentTargetRows, settings.SegmentTargetBytes, settings.SegmentMaxAge));
            var dependencies = new StreamDependencies(
                database,
                walWriter,
                new TieredRecordReader(database, queries, segments),
                queries,
                new UploadBacklog(),
                new DrainState(),
                new StreamHydrator(objectStore, walWriter, database, clock),
                publisher,
                segments,
                mode,
                settings,
                clock);
            var supervisor = testKit.Sys.ActorOf(
                StreamSupervisorActor.Props(dependencies),
                $"streams-{Interlocked.Increment(ref instances)}");
            return new Node(supervisor, walWriter, dependencies, sealer);
        }

        public Task<object> AskAsync(object command) => supervisor.Ask<object>(command, Timeout);

        public async Task<Appended> AppendAsync(string text)
        {
            var reply = await AskAsync(new AppendToStream(StreamName, ContentTypes.Default, [System.Text.Encoding.UTF8.GetBytes(text)], Close: false, StreamSeq: null, Producer: null));
            return Assert.IsType<Appended>(reply);
        }

        /// <summary>What the host's drain does: refuse appends, seal everything, publish everything as drained.</summary>
        public async Task DrainAsync()
        {
            dependencies.Drain.Begin();
            await walWriter.Submit(new BarrierOperation());
            await sealer.SealDueAsync(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(), force: true, CancellationToken.None);
            foreach (var streamId in dependencies.Queries.FindStreamsToPublish(includeFullyPublished: true))
            {
                await dependencies.Publisher.PublishAsync(streamId, draining: true, CancellationToken.None);
            }
        }

        /// <summary>Stops the owners and the writer, dropping everything held in memory.</summary>
        public async ValueTask DisposeAsync()
        {
            await supervisor.GracefulStop(Timeout);
            await walWriter.DisposeAsync();
        }
    }
}
