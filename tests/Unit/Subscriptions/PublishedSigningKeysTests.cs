using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Actors.ObjectStore;
using Streams.Actors.Subscriptions;
using Streams.Tests.Unit.Support;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Subscriptions;

/// <summary>
/// Cluster mode's JWKS: every node publishes its public keys in the shared bucket and serves the
/// union, so a delivery signed by whichever node owns the subscriptions verifies against the JWKS
/// of any node; a retired key leaves once its retention is over.
/// </summary>
public sealed class PublishedSigningKeysTests : IDisposable
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromDays(90);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TestDirectory directory = new("published-keys");

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_serve_the_same_keys_on_every_node_so_a_signature_of_one_verifies_with_the_jwks_of_another()
    {
        var bucket = new FileSystemObjectStore(directory.Combine("bucket"));
        var clock = new ManualTimeProvider(Start);
        using var firstKeys = WebhookSigningKeys.Open(directory.Combine("node-1"), MaxAge, Retention, Start);
        using var secondKeys = WebhookSigningKeys.Open(directory.Combine("node-2"), MaxAge, Retention, Start);
        var first = new PublishedSigningKeys(bucket, firstKeys, Retention, clock, NullLogger.Instance);
        var second = new PublishedSigningKeys(bucket, secondKeys, Retention, clock, NullLogger.Instance);

        await first.PublishAsync(CancellationToken.None);
        await second.PublishAsync(CancellationToken.None);
        var firstJwks = await first.JwksAsync();
        var secondJwks = await second.JwksAsync();

        Assert.Equal(firstJwks, secondJwks);
        // Both nodes' keys, sorted by key id: the same bytes whichever node answers.
        Assert.Equal(new[] { firstKeys.ActiveKeyId, secondKeys.ActiveKeyId }.Order(StringComparer.Ordinal), KeyIds(firstJwks));
        var body = Encoding.UTF8.GetBytes("{\"subscription_id\":\"s\"}");
        Assert.True(WebhookSignature.Verify(firstKeys.Sign(body, Start), body, secondJwks));
        Assert.True(WebhookSignature.Verify(secondKeys.Sign(body, Start), body, firstJwks));
        // Only public halves reach the bucket.
        foreach (var file in Directory.EnumerateFiles(directory.Combine("bucket"), "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain("private", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Should_leave_a_retired_key_out_and_delete_it_once_its_retention_is_over()
    {
        var bucket = new FileSystemObjectStore(directory.Combine("bucket"));
        var keysDirectory = directory.Combine("node-1");
        string retiredKeyId;
        using (var original = WebhookSigningKeys.Open(keysDirectory, MaxAge, Retention, Start))
        {
            retiredKeyId = original.ActiveKeyId;
        }

        var rotatedAt = Start.AddDays(1);
        await File.WriteAllBytesAsync(Path.Combine(keysDirectory, "rotate"), []);
        using var rotated = WebhookSigningKeys.Open(keysDirectory, MaxAge, Retention, rotatedAt);
        var during = new PublishedSigningKeys(bucket, rotated, Retention, new ManualTimeProvider(rotatedAt), NullLogger.Instance);
        await during.PublishAsync(CancellationToken.None);
        Assert.Contains(retiredKeyId, KeyIds(await during.JwksAsync()));

        // Another node, after the retention: it never held the retired key and must not serve it.
        using var otherKeys = WebhookSigningKeys.Open(directory.Combine("node-2"), MaxAge, Retention, rotatedAt + Retention);
        var after = new PublishedSigningKeys(bucket, otherKeys, Retention, new ManualTimeProvider(rotatedAt + Retention), NullLogger.Instance);
        Assert.DoesNotContain(retiredKeyId, KeyIds(await after.JwksAsync()));
        Assert.Contains(rotated.ActiveKeyId, KeyIds(await after.JwksAsync()));

        await after.PublishAsync(CancellationToken.None);
        Assert.Null(await bucket.GetAsync(PublishedSigningKeys.KeyPrefix + retiredKeyId + ".json", CancellationToken.None));
        Assert.NotNull(await bucket.GetAsync(PublishedSigningKeys.KeyPrefix + rotated.ActiveKeyId + ".json", CancellationToken.None));
    }

    private static List<string> KeyIds(byte[] jwks)
    {
        using var document = JsonDocument.Parse(jwks);
        return document.RootElement.GetProperty("keys").EnumerateArray().Select(key => key.GetProperty("kid").GetString()!).ToList();
    }
}
