using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Cluster mode: the JWKS every node serves. Any node may come to own the subscriptions and sign
/// with its own key, so each node publishes the public halves of its keys in the shared bucket
/// (<c>subscriptions/keys/&lt;kid&gt;.json</c>, never a private key) and every node answers the
/// union of what is published there, sorted by key id: the same set whichever node is asked, and a
/// key stays in it after its node left, so deliveries it signed just before a move still verify.
/// A retired key drops out once its retention is over. The union is cached for
/// <see cref="CacheTime"/>, so the unauthenticated JWKS endpoint costs the bucket at most one
/// listing per interval however often it is called.
/// </summary>
public sealed class PublishedSigningKeys(IObjectStore objectStore, WebhookSigningKeys local, TimeSpan retention, TimeProvider clock, ILogger logger)
{
    public const string KeyPrefix = "subscriptions/keys/";
    private const string KeyExtension = ".json";
    private const int ListPageSize = 1000;
    private static readonly TimeSpan CacheTime = TimeSpan.FromSeconds(5);

    private readonly Lock gate = new();
    private (DateTimeOffset At, Task<byte[]> Jwks)? cached;

    /// <summary>Writes this node's public keys; removes published keys (any node's) whose retention is over.</summary>
    public async Task PublishAsync(CancellationToken cancellationToken)
    {
        foreach (var key in local.PublicKeys())
        {
            await objectStore.PutAsync(KeyPrefix + key.KeyId + KeyExtension, ToJson(key), cancellationToken);
        }

        foreach (var (objectKey, key) in await ListPublishedAsync(cancellationToken))
        {
            if (Expired(key))
            {
                await objectStore.DeleteAsync(objectKey, cancellationToken);
            }
        }
    }

    /// <summary>The JWK set of every published key still in use, and this node's own.</summary>
    public Task<byte[]> JwksAsync()
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            if (cached is { } entry && now - entry.At < CacheTime)
            {
                return entry.Jwks;
            }

            var reading = ReadJwksAsync();
            cached = (now, reading);
            return reading;
        }
    }

    private async Task<byte[]> ReadJwksAsync()
    {
        var union = local.PublicKeys().ToDictionary(key => key.KeyId, StringComparer.Ordinal);
        try
        {
            foreach (var (_, key) in await ListPublishedAsync(CancellationToken.None))
            {
                if (!Expired(key))
                {
                    union.TryAdd(key.KeyId, key);
                }
            }
        }
        catch (ObjectStoreException exception)
        {
            // This node's keys still verify what it signs; the others' come back with the bucket.
            logger.LogWarning("Subscriptions: could not read the published signing keys ({Reason}); serving this node's only", exception.Message);
        }

        return WebhookSigningKeys.JwksJson(union.Values.OrderBy(key => key.KeyId, StringComparer.Ordinal));
    }

    private bool Expired(PublicSigningKey key) =>
        key.RetiredAt is { } retiredAt && clock.GetUtcNow() - retiredAt >= retention;

    private async Task<List<(string ObjectKey, PublicSigningKey Key)>> ListPublishedAsync(CancellationToken cancellationToken)
    {
        var published = new List<(string, PublicSigningKey)>();
        string? continuation = null;
        do
        {
            var page = await objectStore.ListAsync(KeyPrefix, continuation, ListPageSize, cancellationToken);
            foreach (var entry in page.Objects.Where(entry => entry.Key.EndsWith(KeyExtension, StringComparison.Ordinal)))
            {
                if (await objectStore.GetAsync(entry.Key, cancellationToken) is not { } bytes)
                {
                    // Removed between the listing and the read.
                    continue;
                }

                if (FromJson(bytes) is { } key)
                {
                    published.Add((entry.Key, key));
                }
                else
                {
                    logger.LogWarning("Subscriptions: skipped an unreadable published signing key {Key}", entry.Key);
                }
            }

            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return published;
    }

    private static byte[] ToJson(PublicSigningKey key)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kid", key.KeyId);
            writer.WriteString("alg", "Ed25519");
            writer.WriteString("x", key.X);
            writer.WriteString("created_at", key.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
            if (key.RetiredAt is { } retiredAt)
            {
                writer.WriteString("retired_at", retiredAt.ToString("O", CultureInfo.InvariantCulture));
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static PublicSigningKey? FromJson(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var retired = root.TryGetProperty("retired_at", out var retiredElement) && retiredElement.ValueKind == JsonValueKind.String
                ? DateTimeOffset.Parse(retiredElement.GetString()!, CultureInfo.InvariantCulture)
                : (DateTimeOffset?)null;
            return new PublicSigningKey(
                root.GetProperty("kid").GetString()!,
                root.GetProperty("x").GetString()!,
                DateTimeOffset.Parse(root.GetProperty("created_at").GetString()!, CultureInfo.InvariantCulture),
                retired);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
