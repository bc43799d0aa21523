using Streams.Actors.ObjectStore;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// Passes everything to the real store; while <see cref="CrashAfterManifestPut"/> is set, a
/// manifest put completes and then throws, as if the process died before the publisher could
/// record the publish locally.
/// </summary>
internal sealed class CrashingObjectStore(IObjectStore inner) : IObjectStore
{
    public bool CrashAfterManifestPut { get; set; }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await inner.PutAsync(key, content, cancellationToken);
        if (CrashAfterManifestPut && ObjectStoreKeys.IsManifestKey(key))
        {
            throw new SimulatedCrashException(key);
        }
    }

    public async Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        var version = await inner.PutIfVersionAsync(key, content, expectedVersion, cancellationToken);
        if (version is not null && CrashAfterManifestPut && ObjectStoreKeys.IsManifestKey(key))
        {
            throw new SimulatedCrashException(key);
        }

        return version;
    }

    public Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken) => inner.GetVersionedAsync(key, cancellationToken);

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken) => inner.HeadAsync(key, cancellationToken);

    public Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken) =>
        inner.ListAsync(prefix, continuationToken, maxKeys, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
}

internal sealed class SimulatedCrashException(string key) : Exception($"simulated crash after putting {key}");
