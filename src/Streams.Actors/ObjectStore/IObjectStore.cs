namespace Streams.Actors.ObjectStore;

/// <summary>
/// The port to durable object storage. Keys are '/'-separated, relative to the store's
/// configured prefix, and must satisfy the rules every store shares (no empty, "." or ".."
/// segment, no leading '/', no backslash or control character); a key that breaks them throws
/// <see cref="ArgumentException"/>. Failures of the store itself throw
/// <see cref="ObjectStoreException"/>; cancellation requested by the caller surfaces as
/// <see cref="OperationCanceledException"/>. Implementations must be safe to call concurrently.
/// <see cref="PutAsync"/> is unconditional (last writer wins); <see cref="PutIfVersionAsync"/> is a
/// compare-and-swap on the object's version (its ETag), the building block of manifest fencing
/// (docs/adr/0009-fencing-manifest-writes.md). Do not mix the two on one key: an unconditional put
/// is not ordered against a concurrent conditional one.
/// </summary>
public interface IObjectStore
{
    /// <summary>Writes the whole object; on return it is durable and visible to Get/Head/List.</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the whole object, or null when it does not exist. Throws
    /// <see cref="ObjectStoreException"/> when the bytes received do not match the object's length.
    /// </summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the whole object and its version, or null when it does not exist. The version is an
    /// opaque string (an S3 ETag, quotes included) to hand back to <see cref="PutIfVersionAsync"/>.
    /// </summary>
    Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the whole object only if its current version is <paramref name="expectedVersion"/>,
    /// or, when that is null, only if the object does not exist. Returns the new version, or null
    /// when the condition did not hold (nothing was written). Atomic against every other
    /// conditional put of the same key, from any process.
    /// </summary>
    Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken);

    /// <summary>The object's size, or null when it does not exist.</summary>
    Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// One page of at most <paramref name="maxKeys"/> keys starting with <paramref name="prefix"/>,
    /// in Unicode code point order (S3's UTF-8 byte order), after <paramref name="continuationToken"/>
    /// when given. The prefix may end mid-segment. Pass the returned token to get the next page.
    /// </summary>
    Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken);

    /// <summary>Deletes the object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

public sealed record ObjectInfo(string Key, long Size);

/// <summary>An object's bytes and the version they had when read.</summary>
public sealed record VersionedObject(byte[] Content, string Version);

/// <summary>
/// A page of a listing; <see cref="ContinuationToken"/> is null on the last page. The token is
/// the last key of the page, so any instance of the same store can continue from it.
/// </summary>
public sealed record ObjectListPage(IReadOnlyList<ObjectInfo> Objects, string? ContinuationToken);

/// <summary>A failure talking to the object store (network, short read, server error).</summary>
public sealed class ObjectStoreException : Exception
{
    public ObjectStoreException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
