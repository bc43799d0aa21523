using Streams.Actors.ObjectStore;

namespace Streams.Tests.Support;

/// <summary>
/// Adds a fixed delay before every operation of the inner store, to measure how the system
/// behaves against a remote store's round-trip time while running against a local one.
/// </summary>
public sealed class LatencyInjectingObjectStore : IObjectStore
{
    private readonly IObjectStore _inner;
    private readonly TimeSpan _delay;

    public LatencyInjectingObjectStore(IObjectStore inner, TimeSpan delayPerOperation)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(delayPerOperation, TimeSpan.Zero);
        _inner = inner;
        _delay = delayPerOperation;
    }

    public TimeSpan DelayPerOperation => _delay;

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        await _inner.PutAsync(key, content, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        return await _inner.GetAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        return await _inner.GetVersionedAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        return await _inner.PutIfVersionAsync(key, content, expectedVersion, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        return await _inner.HeadAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        return await _inner.ListAsync(prefix, continuationToken, maxKeys, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        await _inner.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
    }
}
