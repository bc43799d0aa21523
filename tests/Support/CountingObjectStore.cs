using System.Collections.Concurrent;
using Streams.Actors.ObjectStore;

namespace Streams.Tests.Support;

public enum ObjectStoreOperation
{
    Put,
    Get,
    Head,
    List,
    Delete,
}

/// <summary>One call made through a <see cref="CountingObjectStore"/>; Key is the prefix for List.</summary>
public sealed record ObjectStoreCall(ObjectStoreOperation Operation, string Key);

/// <summary>
/// Records every call to the inner store, so that a test can assert how many requests a code
/// path makes, for example exactly one manifest GET per hydration. Calls are counted when they
/// start, whether or not they succeed. A conditional put counts as a Put and a versioned get as a
/// Get: each is one request, like its unconditional counterpart.
/// </summary>
public sealed class CountingObjectStore : IObjectStore
{
    private readonly IObjectStore _inner;
    private readonly ConcurrentQueue<ObjectStoreCall> _calls = new();

    public CountingObjectStore(IObjectStore inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>Every call so far, in the order they started.</summary>
    public IReadOnlyList<ObjectStoreCall> Calls => _calls.ToArray();

    public int Count(ObjectStoreOperation operation) => _calls.Count(call => call.Operation == operation);

    public int Count(ObjectStoreOperation operation, Func<string, bool> keyMatches)
    {
        ArgumentNullException.ThrowIfNull(keyMatches);
        return _calls.Count(call => call.Operation == operation && keyMatches(call.Key));
    }

    public int Count(ObjectStoreOperation operation, string key) =>
        Count(operation, candidate => string.Equals(candidate, key, StringComparison.Ordinal));

    public void Reset() => _calls.Clear();

    public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.Put, key);
        return _inner.PutAsync(key, content, cancellationToken);
    }

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.Get, key);
        return _inner.GetAsync(key, cancellationToken);
    }

    public Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.Get, key);
        return _inner.GetVersionedAsync(key, cancellationToken);
    }

    public Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.Put, key);
        return _inner.PutIfVersionAsync(key, content, expectedVersion, cancellationToken);
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.Head, key);
        return _inner.HeadAsync(key, cancellationToken);
    }

    public Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.List, prefix);
        return _inner.ListAsync(prefix, continuationToken, maxKeys, cancellationToken);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        Record(ObjectStoreOperation.Delete, key);
        return _inner.DeleteAsync(key, cancellationToken);
    }

    private void Record(ObjectStoreOperation operation, string key) => _calls.Enqueue(new ObjectStoreCall(operation, key));
}
