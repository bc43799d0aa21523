using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Restore;

/// <summary>
/// Hydrating a fork restores its source first. The source's fetch belongs to the same request: it
/// is given up when the request is, and manifests that name each other as sources (which only a
/// corrupt store can hold) are refused rather than followed round and round.
/// </summary>
public sealed class ForkSourceHydrationTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly ObjectStoreWorld world = new();
    private StreamTestNode node = null!;

    public Task InitializeAsync()
    {
        node = new StreamTestNode(world.Store, RestoreMode.Lazy);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        world.Control.ClearRules();
        await node.DisposeAsync();
        world.Dispose();
    }

    [Fact]
    public async Task Should_refuse_as_invalid_data_and_write_nothing_when_two_fork_manifests_name_each_other_as_source()
    {
        await PutManifestAsync(Manifest("cycle/a", forkParent: "cycle/b"));
        await PutManifestAsync(Manifest("cycle/b", forkParent: "cycle/a"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => node.Hydrator.HydrateAsync("cycle/a", CancellationToken.None).WaitAsync(Patience));

        Assert.Contains("cycle", error.Message, StringComparison.Ordinal);
        Assert.Null(node.Database.LoadStream("cycle/a"));
        Assert.Null(node.Database.LoadStream("cycle/b"));
    }

    [Fact]
    public async Task Should_refuse_as_invalid_data_when_a_fork_manifest_names_itself_as_source()
    {
        await PutManifestAsync(Manifest("cycle/self", forkParent: "cycle/self"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => node.Hydrator.HydrateAsync("cycle/self", CancellationToken.None).WaitAsync(Patience));

        Assert.Contains("cycle", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_give_up_the_source_fetch_when_the_hydration_of_its_fork_is_cancelled()
    {
        await PutManifestAsync(Manifest("forks/source", forkParent: null));
        await PutManifestAsync(Manifest("forks/fork", forkParent: "forks/source"));
        var gate = world.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf("forks/source"));
        using var giveUp = new CancellationTokenSource();

        var hydration = node.Hydrator.HydrateAsync("forks/fork", giveUp.Token);
        await gate.WhenArrived();
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hydration.WaitAsync(Patience));
        Assert.Equal(0, world.Control.InFlight(ObjectStoreOperation.Get));
        Assert.Null(node.Database.LoadStream("forks/fork"));
    }

    [Fact]
    public async Task Should_restore_a_fork_alone_with_a_remote_source_when_fork_sources_are_remote()
    {
        await PutManifestAsync(Manifest("forks/source", forkParent: null));
        await PutManifestAsync(Manifest("forks/fork", forkParent: "forks/source") with { ForkPosition = 2, NextPosition = 2 });

        var outcome = await node.Hydrator.HydrateAsync("forks/fork", forkSourcesRemote: true, CancellationToken.None).WaitAsync(Patience);

        // The source belongs to its own owner, on whichever node: nothing of it is written here.
        Assert.Null(node.Database.LoadStream("forks/source"));
        Assert.Equal(0, world.ManifestGets("forks/source"));
        var row = Assert.IsType<Streams.Actors.Storage.StreamRow>(outcome.Row);
        Assert.Null(row.ForkParentId);
        Assert.Equal("forks/source", row.ForkParentName);
        Assert.True(row.ForkSourceIsRemote);
        var reloaded = node.Database.LoadStream("forks/fork")!;
        Assert.Equal("forks/source", reloaded.ForkParentName);
        // Below its fork position the fork is served by its source, by name, through the cluster.
        Assert.Equal(["forks/fork", "forks/source"], reloaded.Lineage!.Entries.Select(entry => entry.Name));
        Assert.True(reloaded.Lineage.Serving(1).Entry.IsRemote);
        Assert.False(reloaded.Lineage.Serving(2).Entry.IsRemote);
    }

    private Task PutManifestAsync(StreamManifest manifest) => world.WriteManifestBytesAsync(manifest.Name, manifest.ToJson());

    private static StreamManifest Manifest(string name, string? forkParent) => new()
    {
        Name = name,
        Generation = 1,
        ContentType = ContentTypes.Default,
        ForkParent = forkParent,
        ForkPosition = forkParent is null ? null : 0,
        DrainedClean = true,
    };
}
