using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Restore;

/// <summary>Which restored streams a drain republishes before the node stops.</summary>
public sealed class RestoredStreamDrainTests : IAsyncLifetime
{
    private readonly ObjectStoreWorld world = new();
    private readonly ManualTimeProvider clock = new();
    private StreamTestNode writer = null!;
    private StreamTestNode node = null!;

    public Task InitializeAsync()
    {
        writer = new StreamTestNode(world.Store, RestoreMode.None, clock: clock);
        node = new StreamTestNode(world.Store, RestoreMode.Lazy, clock: clock);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await writer.DisposeAsync();
        await node.DisposeAsync();
        world.Dispose();
    }

    [Fact]
    public async Task Should_skip_a_restored_stream_when_its_clean_manifest_already_says_everything()
    {
        await StreamWrites.CreateAsync(writer, "plain", records: 2);
        await StreamWrites.CreateAsync(writer, "ttl", records: 2, ttlSeconds: 600);
        await writer.PublishAsync(draining: true);

        var plain = (await node.Hydrator.HydrateAsync("plain", CancellationToken.None)).Row!;
        var ttl = (await node.Hydrator.HydrateAsync("ttl", CancellationToken.None)).Row!;

        var toPublish = node.Queries.FindStreamsToPublish(includeFullyPublished: true);
        Assert.DoesNotContain(plain.StreamId, toPublish);
        Assert.DoesNotContain(ttl.StreamId, toPublish);
    }

    [Fact]
    public async Task Should_republish_a_restored_ttl_stream_when_it_was_read_after_its_clean_manifest()
    {
        await StreamWrites.CreateAsync(writer, "ttl", records: 2, ttlSeconds: 600);
        await writer.PublishAsync(draining: true);
        var ttl = (await node.Hydrator.HydrateAsync("ttl", CancellationToken.None)).Row!;
        world.Counting.Reset();
        clock.Advance(TimeSpan.FromMinutes(5));
        // What a read does for a sliding TTL: the activity is written to the index.
        await node.WalWriter.Submit(new TouchStreamOperation(ttl.StreamId, clock.GetUtcNow().ToUnixTimeMilliseconds()));

        Assert.Contains(ttl.StreamId, node.Queries.FindStreamsToPublish(includeFullyPublished: true));
        await node.PublishAsync(draining: true);

        // The next owner takes the stream's last activity from the manifest's time.
        var manifest = await world.ReadManifestAsync("ttl");
        Assert.True(manifest.DrainedClean);
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds(), manifest.UpdatedAtMs);
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds(), ManifestRestore.ToRows(manifest, clock.GetUtcNow().ToUnixTimeMilliseconds())!.Row.LastAccessMs);
        Assert.Equal(1, world.ManifestPuts("ttl"));
    }
}
