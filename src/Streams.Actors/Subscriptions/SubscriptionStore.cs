using Streams.Actors.ObjectStore;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Subscription documents in the object store: the one durable home of subscription state, as the
/// bucket is for streams, so a node with an empty disk (eager or lazy restore) finds every
/// subscription. With the local-directory store the documents are under the data directory.
/// Writes are compare-and-swap on the version the writer last read or wrote: when a subscription
/// moves, a write the previous owner sent before it stopped may land after the new owner's first
/// read, and neither may then silently overwrite the other (docs/adr/0012-subscriptions-in-a-cluster.md).
/// </summary>
public sealed class SubscriptionStore(IObjectStore objectStore)
{
    private const int ListPageSize = 1000;

    /// <summary>
    /// Writes <paramref name="document"/> if the stored one still has <paramref name="expectedVersion"/>
    /// (null: if there is none). Returns the new version, or null when another writer changed the
    /// document since (nothing was written).
    /// </summary>
    public Task<string?> SaveAsync(SubscriptionDocument document, string? expectedVersion, CancellationToken cancellationToken) =>
        objectStore.PutIfVersionAsync(SubscriptionDocument.KeyOf(document.Id), document.ToJson(), expectedVersion, cancellationToken);

    /// <summary>The stored document and its version, or null when there is none.</summary>
    public async Task<StoredSubscription?> LoadAsync(string id, CancellationToken cancellationToken) =>
        await objectStore.GetVersionedAsync(SubscriptionDocument.KeyOf(id), cancellationToken) is { } stored
            ? new StoredSubscription(SubscriptionDocument.FromJson(stored.Content), stored.Version)
            : null;

    public Task DeleteAsync(string id, CancellationToken cancellationToken) =>
        objectStore.DeleteAsync(SubscriptionDocument.KeyOf(id), cancellationToken);

    /// <summary>Every stored subscription; a document this version cannot read is reported, not fatal.</summary>
    public async Task<(IReadOnlyList<StoredSubscription> Documents, IReadOnlyList<string> Unreadable)> LoadAllAsync(CancellationToken cancellationToken)
    {
        var documents = new List<StoredSubscription>();
        var unreadable = new List<string>();
        string? continuation = null;
        do
        {
            var page = await objectStore.ListAsync(SubscriptionDocument.KeyPrefix, continuation, ListPageSize, cancellationToken);
            foreach (var entry in page.Objects.Where(entry => SubscriptionDocument.IsDocumentKey(entry.Key)))
            {
                var stored = await objectStore.GetVersionedAsync(entry.Key, cancellationToken);
                if (stored is null)
                {
                    // Deleted between the listing and the read.
                    continue;
                }

                try
                {
                    documents.Add(new StoredSubscription(SubscriptionDocument.FromJson(stored.Content), stored.Version));
                }
                catch (FormatException exception)
                {
                    unreadable.Add($"{entry.Key}: {exception.Message}");
                }
            }

            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return (documents, unreadable);
    }
}

/// <summary>A subscription document as read, with the version a later write must name.</summary>
public sealed record StoredSubscription(SubscriptionDocument Document, string Version);
