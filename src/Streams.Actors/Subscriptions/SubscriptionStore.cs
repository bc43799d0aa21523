using Streams.Actors.ObjectStore;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Subscription documents in the object store: the one durable home of subscription state, as the
/// bucket is for streams, so a node with an empty disk (eager or lazy restore) finds every
/// subscription. With the local-directory store the documents are under the data directory.
/// </summary>
public sealed class SubscriptionStore(IObjectStore objectStore)
{
    private const int ListPageSize = 1000;

    public Task SaveAsync(SubscriptionDocument document, CancellationToken cancellationToken) =>
        objectStore.PutAsync(SubscriptionDocument.KeyOf(document.Id), document.ToJson(), cancellationToken);

    public Task DeleteAsync(string id, CancellationToken cancellationToken) =>
        objectStore.DeleteAsync(SubscriptionDocument.KeyOf(id), cancellationToken);

    /// <summary>Every stored subscription; a document this version cannot read is reported, not fatal.</summary>
    public async Task<(IReadOnlyList<SubscriptionDocument> Documents, IReadOnlyList<string> Unreadable)> LoadAllAsync(CancellationToken cancellationToken)
    {
        var documents = new List<SubscriptionDocument>();
        var unreadable = new List<string>();
        string? continuation = null;
        do
        {
            var page = await objectStore.ListAsync(SubscriptionDocument.KeyPrefix, continuation, ListPageSize, cancellationToken);
            foreach (var entry in page.Objects.Where(entry => SubscriptionDocument.IsDocumentKey(entry.Key)))
            {
                var bytes = await objectStore.GetAsync(entry.Key, cancellationToken);
                if (bytes is null)
                {
                    // Deleted between the listing and the read.
                    continue;
                }

                try
                {
                    documents.Add(SubscriptionDocument.FromJson(bytes));
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
