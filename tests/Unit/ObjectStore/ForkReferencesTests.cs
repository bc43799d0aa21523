using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>The fork reference markers of cluster mode, on a real directory store.</summary>
public sealed class ForkReferencesTests : IDisposable
{
    private readonly TempDirectory directory = new();

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_report_a_source_referenced_exactly_while_some_fork_marker_is_left()
    {
        var store = new FileSystemObjectStore(directory.Path);
        var references = new ForkReferences(store);

        Assert.False(await references.AnyAsync("orders/source", CancellationToken.None));
        await references.AddAsync("orders/source", "orders/fork-1", CancellationToken.None);
        await references.AddAsync("orders/source", "orders/fork-2", CancellationToken.None);
        // Written twice (a retried creation): still one marker, removed once.
        await references.AddAsync("orders/source", "orders/fork-2", CancellationToken.None);
        Assert.True(await references.AnyAsync("orders/source", CancellationToken.None));
        // Markers of one source say nothing about another, even one whose name starts the same.
        Assert.False(await references.AnyAsync("orders/sourc", CancellationToken.None));

        await references.RemoveAsync("orders/source", "orders/fork-1", CancellationToken.None);
        Assert.True(await references.AnyAsync("orders/source", CancellationToken.None));
        await references.RemoveAsync("orders/source", "orders/fork-2", CancellationToken.None);
        Assert.False(await references.AnyAsync("orders/source", CancellationToken.None));
        // Removing a marker that is already gone is not an error.
        await references.RemoveAsync("orders/source", "orders/fork-2", CancellationToken.None);
    }

    [Fact]
    public void Should_keep_markers_under_the_source_and_out_of_the_manifest_keys()
    {
        var key = ObjectStoreKeys.ForkReferenceKey("orders/source", "orders/fork");

        Assert.StartsWith(ObjectStoreKeys.StreamDirectory("orders/source") + "forks/", key, StringComparison.Ordinal);
        Assert.EndsWith(ObjectStoreKeys.StreamHash("orders/fork") + ".json", key, StringComparison.Ordinal);
        Assert.False(ObjectStoreKeys.IsManifestKey(key));
    }
}
