using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Tests.Support;
using Streams.Tests.Unit.Support;
using Xunit;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>Deleting and re-creating a name while its manifests and tombstone travel through the pipeline.</summary>
public sealed class TombstonePipelineTests : IDisposable
{
    private const string Name = "tombstone/stream";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    // Publish quickly; stop idle stream owners after 200 ms so the next request starts a fresh one.
    private const string FastPipeline = """
        streams.segment.target-rows = 2
        streams.segment.max-age = 50ms
        streams.segment.check-interval = 20ms
        streams.upload.check-interval = 20ms
        streams.upload.retry-min-backoff = 10ms
        streams.upload.retry-max-backoff = 100ms
        streams.passivate-after = 200ms
        streams.drain-timeout = 5s
        """;

    private readonly TestDirectory directory = new("tombstones");

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_give_a_recreated_streams_first_manifest_a_generation_above_its_tombstone_when_the_owner_stayed_alive()
    {
        var store = new FileSystemObjectStore(directory.Combine("objects"));
        await using var engine = await EngineHost.StartAsync(Options(decorate: null));
        await engine.CreateAsync(Name);
        await AppendAsync(engine, "old-1", "old-2");
        await AwaitManifestAsync(store, manifest => !manifest.Deleted && manifest.NextPosition == 2);

        Assert.IsType<StreamDeleted>(await engine.Gateway.SendAsync(new DeleteStream(Name), AskTimeout, CancellationToken.None));
        var tombstone = await AwaitManifestAsync(store, manifest => manifest.Deleted);

        await engine.CreateAsync(Name);
        await AppendAsync(engine, "new-1");
        var recreated = await AwaitManifestAsync(store, manifest => !manifest.Deleted && manifest.NextPosition == 1);

        Assert.True(
            recreated.Generation > tombstone.Generation,
            $"the re-created stream published generation {recreated.Generation} over a tombstone of generation {tombstone.Generation}");
    }

    [Fact]
    public async Task Should_create_an_empty_stream_when_the_name_is_recreated_before_its_tombstone_could_be_published()
    {
        var store = new FileSystemObjectStore(directory.Combine("objects"));
        var putsFail = false;
        await using var engine = await EngineHost.StartAsync(Options(inner => new FlakyObjectStore(
            inner,
            (operation, _) => Volatile.Read(ref putsFail) && operation == ObjectStoreOperation.Put ? InjectedFault.FailBefore : InjectedFault.None,
            TimeSpan.Zero)));
        await engine.CreateAsync(Name);
        await AppendAsync(engine, "old-1", "old-2");
        await AwaitManifestAsync(store, manifest => !manifest.Deleted && manifest.NextPosition == 2);

        // The store stops taking writes: the delete commits locally, its tombstone cannot be published.
        Volatile.Write(ref putsFail, true);
        Assert.IsType<StreamDeleted>(await engine.Gateway.SendAsync(new DeleteStream(Name), AskTimeout, CancellationToken.None));
        Assert.True(
            await Eventually.TrueAsync(async () => await engine.Gateway.ActiveStreamCountAsync(CancellationToken.None) == 0, Deadline),
            "the deleted stream's owner did not stop");

        // A fresh owner finds no local row and the old live manifest in the store.
        var reply = await engine.Gateway.SendAsync(
            new CreateStream(Name, ContentTypes.Default, TtlSeconds: null, ExpiresAt: null, Closed: false, InitialRecords: []),
            AskTimeout,
            CancellationToken.None);

        var created = Assert.IsType<StreamCreated>(reply);
        Assert.True(created.Created, "the deleted stream came back from its old manifest instead of being created");
        Assert.Empty(await engine.ReadAllAsync(Name));
    }

    private StreamsEngineOptions Options(Func<IObjectStore, IObjectStore>? decorate) => new()
    {
        DataDirectory = directory.Combine("data"),
        FileSystemObjectStoreDirectory = directory.Combine("objects"),
        HoconOverrides = FastPipeline,
        ObjectStoreDecorator = decorate,
    };

    private static async Task AppendAsync(EngineHost engine, params string[] records)
    {
        var reply = await engine.AppendAsync(Name, [.. records.Select(record => System.Text.Encoding.UTF8.GetBytes(record))]);
        Assert.IsType<Appended>(reply);
    }

    private static async Task<StreamManifest> AwaitManifestAsync(IObjectStore store, Func<StreamManifest, bool> condition)
    {
        StreamManifest? found = null;
        var reached = await Eventually.TrueAsync(
            async () =>
            {
                var bytes = await store.GetAsync(ObjectStoreKeys.ManifestKey(Name), CancellationToken.None);
                found = bytes is null ? null : StreamManifest.Parse(bytes);
                return found is not null && condition(found);
            },
            Deadline);
        Assert.True(reached, $"the manifest did not reach the expected state; last seen: {found}");
        return found!;
    }
}
