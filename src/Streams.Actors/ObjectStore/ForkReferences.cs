using System.Text.Json;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// Which forks read a stream, in cluster mode, where a fork and its source may live on different
/// nodes and move: one small marker object per fork under the source's key prefix
/// (<c>streams/&lt;h(source)&gt;/forks/&lt;h(fork)&gt;.json</c>). The fork's owner writes it before it asks
/// the source to describe itself and removes it once the fork is gone for good (or its creation
/// failed); the source's owner lists the prefix when it is deleted: any marker means soft delete.
/// See docs/adr/0011-forks-across-cluster-nodes.md.
/// </summary>
public sealed class ForkReferences(IObjectStore objectStore)
{
    /// <summary>One marker is enough to keep the source: no need to list more.</summary>
    private const int ListOneKey = 1;

    /// <summary>Records that <paramref name="forkName"/> reads <paramref name="sourceName"/>. Durable on return.</summary>
    public Task AddAsync(string sourceName, string forkName, CancellationToken cancellationToken)
    {
        // The names are in the body for people and tools; the key alone is what counts.
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["source"] = sourceName,
            ["fork"] = forkName,
        });
        return objectStore.PutAsync(ObjectStoreKeys.ForkReferenceKey(sourceName, forkName), body, cancellationToken);
    }

    /// <summary>Forgets the marker; a missing one is not an error.</summary>
    public Task RemoveAsync(string sourceName, string forkName, CancellationToken cancellationToken) =>
        objectStore.DeleteAsync(ObjectStoreKeys.ForkReferenceKey(sourceName, forkName), cancellationToken);

    /// <summary>True when some fork still reads <paramref name="sourceName"/>.</summary>
    public async Task<bool> AnyAsync(string sourceName, CancellationToken cancellationToken)
    {
        var page = await objectStore.ListAsync(ObjectStoreKeys.ForkReferencesPrefix(sourceName), null, ListOneKey, cancellationToken);
        return page.Objects.Count > 0;
    }
}
