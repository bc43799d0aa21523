using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

public sealed class ObjectStoreDecoratorTests : IDisposable
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan VeryLongDelay = TimeSpan.FromHours(1);

    private readonly TempDirectory _directory = new();
    private readonly CancellationTokenSource _timeout = new(TestTimeout);

    private CancellationToken Timeout => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task Should_count_each_operation_by_kind_and_key_when_calls_go_through_the_counter()
    {
        var store = new CountingObjectStore(new FileSystemObjectStore(_directory.Path));
        var manifest = ObjectStoreKeys.ManifestKey("s");

        await store.PutAsync(manifest, "m"u8.ToArray(), Timeout);
        await store.PutAsync(ObjectStoreKeys.SegmentKey("s", 0), "x"u8.ToArray(), Timeout);
        await store.GetAsync(manifest, Timeout);
        await store.HeadAsync("missing", Timeout);
        await store.ListAsync(ObjectStoreKeys.StreamsPrefix, continuationToken: null, maxKeys: 10, Timeout);
        await store.DeleteAsync("missing", Timeout);

        Assert.Equal(2, store.Count(ObjectStoreOperation.Put));
        Assert.Equal(1, store.Count(ObjectStoreOperation.Get, ObjectStoreKeys.IsManifestKey));
        Assert.Equal(1, store.Count(ObjectStoreOperation.Get, manifest));
        Assert.Equal(1, store.Count(ObjectStoreOperation.Head));
        Assert.Equal(1, store.Count(ObjectStoreOperation.List, ObjectStoreKeys.StreamsPrefix));
        Assert.Equal(1, store.Count(ObjectStoreOperation.Delete));
        Assert.Equal(6, store.Calls.Count);

        store.Reset();

        Assert.Empty(store.Calls);
    }

    [Fact]
    public async Task Should_pass_results_through_when_the_latency_is_zero()
    {
        var store = new LatencyInjectingObjectStore(new FileSystemObjectStore(_directory.Path), TimeSpan.Zero);

        await store.PutAsync("k", "v"u8.ToArray(), Timeout);

        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k", Timeout));
        Assert.Equal(new ObjectInfo("k", 1), await store.HeadAsync("k", Timeout));
        Assert.Single((await store.ListAsync("", continuationToken: null, maxKeys: 5, Timeout)).Objects);
        await store.DeleteAsync("k", Timeout);
        Assert.Null(await store.GetAsync("k", Timeout));
    }

    [Fact]
    public async Task Should_wait_before_calling_the_inner_store_when_latency_is_injected()
    {
        var inner = new CountingObjectStore(new FileSystemObjectStore(_directory.Path));
        var store = new LatencyInjectingObjectStore(inner, VeryLongDelay);
        using var cancellation = new CancellationTokenSource();

        var get = store.GetAsync("k", cancellation.Token);
        Assert.False(get.IsCompleted);
        Assert.Empty(inner.Calls);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => get);
        Assert.Empty(inner.Calls);
    }

    [Fact]
    public void Should_reject_a_negative_delay()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LatencyInjectingObjectStore(new FileSystemObjectStore(_directory.Path), TimeSpan.FromMilliseconds(-1)));
    }
}
