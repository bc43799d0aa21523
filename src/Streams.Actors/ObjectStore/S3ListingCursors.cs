using Minio.DataModel;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// Keeps S3 listings open between pages. Minio 7.0.0 can only list a prefix from its beginning
/// (its public API has no start-after and no page size), so resuming after a key would mean
/// re-reading everything before it, and paging through n keys would cost O(n²) requests. A
/// listing that ended a page is parked here under (prefix, last key returned), and the next
/// call with that token continues it. A token that is not parked (another instance, or an
/// expired or evicted cursor) still works, through a fresh listing that skips to the token.
/// </summary>
internal sealed class S3ListingCursors
{
    // Bounds what abandoned listings can hold on to: each parked cursor may keep one HTTP
    // response (and its connection) open until it is resumed or evicted.
    private const int MaxParkedCursors = 32;
    private static readonly TimeSpan MaxParkedTime = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Prefix, string LastKey), (S3ListingCursor Cursor, long ParkedAt)> _parked = new();

    public S3ListingCursors(TimeProvider time)
    {
        _time = time;
    }

    /// <summary>The parked listing of <paramref name="prefix"/> that last returned <paramref name="lastKey"/>, if any.</summary>
    public S3ListingCursor? TryResume(string prefix, string lastKey)
    {
        lock (_gate)
        {
            if (!_parked.Remove((prefix, lastKey), out var parked))
            {
                return null;
            }

            if (_time.GetElapsedTime(parked.ParkedAt) > MaxParkedTime)
            {
                parked.Cursor.Abandon();
                return null;
            }

            return parked.Cursor;
        }
    }

    public void Park(string prefix, string lastKey, S3ListingCursor cursor)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            foreach (var (entryKey, entry) in _parked.ToList())
            {
                if (_time.GetElapsedTime(entry.ParkedAt, now) > MaxParkedTime)
                {
                    _parked.Remove(entryKey);
                    entry.Cursor.Abandon();
                }
            }

            if (_parked.Count >= MaxParkedCursors)
            {
                var oldest = _parked.MinBy(entry => entry.Value.ParkedAt);
                _parked.Remove(oldest.Key);
                oldest.Value.Cursor.Abandon();
            }

            if (_parked.Remove((prefix, lastKey), out var replaced))
            {
                replaced.Cursor.Abandon();
            }

            _parked[(prefix, lastKey)] = (cursor, now);
        }
    }

    public void AbandonAll()
    {
        lock (_gate)
        {
            foreach (var entry in _parked.Values)
            {
                entry.Cursor.Abandon();
            }

            _parked.Clear();
        }
    }

    public int ParkedCount
    {
        get
        {
            lock (_gate)
            {
                return _parked.Count;
            }
        }
    }
}

/// <summary>
/// One open listing, read one item ahead so a page can tell whether another follows. It owns
/// the cancellation source its enumerator was created with: the enumerator outlives the call
/// that opened it, so it cannot be tied to that caller's token; each call links its own token.
/// </summary>
internal sealed class S3ListingCursor
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly IAsyncEnumerator<Item> _items;
    private Item? _readAhead;

    public S3ListingCursor(Func<CancellationToken, IAsyncEnumerable<Item>> open)
    {
        _items = open(_cancellation.Token).GetAsyncEnumerator(_cancellation.Token);
    }

    public void PushBack(Item item) => _readAhead = item;

    public async Task<Item?> NextAsync(CancellationToken cancellationToken)
    {
        if (_readAhead is { } pending)
        {
            _readAhead = null;
            return pending;
        }

        cancellationToken.ThrowIfCancellationRequested();
        // Dispose waits for a running callback, so Cancel never runs on a disposed source.
        using var link = cancellationToken.Register(static source => ((CancellationTokenSource)source!).Cancel(), _cancellation);
        return await _items.MoveNextAsync().ConfigureAwait(false) ? _items.Current : null;
    }

    /// <summary>Releases the listing; safe to call once the cursor is no longer in use.</summary>
    public void Abandon()
    {
        _cancellation.Cancel();
        _ = ReleaseAsync();
    }

    private async Task ReleaseAsync()
    {
        try
        {
            await _items.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The listing is being thrown away and nobody awaits this: whatever closing its
            // last response throws (it was just cancelled) changes nothing and must not surface
            // as an unobserved task exception.
        }
        finally
        {
            _cancellation.Dispose();
        }
    }
}
