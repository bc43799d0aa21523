using System.Text;
using System.Text.Json;
using NSec.Cryptography;
using Streams.Actors.Subscriptions;
using Streams.Tests.Unit.Support;
using Xunit;

namespace Streams.Tests.Unit.Subscriptions;

public sealed class WebhookSigningKeysTests : IDisposable
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromDays(90);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TestDirectory directory = new("signing-keys");

    public void Dispose() => directory.Dispose();

    [Fact]
    public void Should_create_the_key_once_readable_only_by_its_owner()
    {
        var path = directory.Combine("keys");
        string keyId;
        using (var keys = WebhookSigningKeys.Open(path, MaxAge, Retention, Start))
        {
            keyId = keys.ActiveKeyId;
            Assert.StartsWith("ds_", keyId);
        }

        var file = Assert.Single(Directory.GetFiles(path, "*.key"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
        }

        using var reopened = WebhookSigningKeys.Open(path, MaxAge, Retention, Start.AddDays(1));
        Assert.Equal(keyId, reopened.ActiveKeyId);
    }

    [Fact]
    public void Should_sign_so_that_the_published_jwk_verifies_the_timestamped_body()
    {
        using var keys = WebhookSigningKeys.Open(directory.Combine("keys"), MaxAge, Retention, Start);
        var body = Encoding.UTF8.GetBytes("{\"wake_id\":\"w1\"}");
        var header = keys.Sign(body, Start);

        Assert.True(WebhookSignature.Verify(header, body, keys.JwksJson()));
        // One changed byte of the body and the signature no longer holds.
        Assert.False(WebhookSignature.Verify(header, Encoding.UTF8.GetBytes("{\"wake_id\":\"w2\"}"), keys.JwksJson()));
    }

    [Fact]
    public void Should_keep_the_old_key_published_after_a_rotation_until_its_retention_ends()
    {
        var path = directory.Combine("keys");
        string oldKeyId;
        string oldSignature;
        var body = Encoding.UTF8.GetBytes("{}");
        using (var first = WebhookSigningKeys.Open(path, MaxAge, Retention, Start))
        {
            oldKeyId = first.ActiveKeyId;
            oldSignature = first.Sign(body, Start);
        }

        File.WriteAllText(Path.Combine(path, "rotate"), string.Empty);
        using (var rotated = WebhookSigningKeys.Open(path, MaxAge, Retention, Start.AddDays(1)))
        {
            Assert.NotEqual(oldKeyId, rotated.ActiveKeyId);
            Assert.True(WebhookSignature.Verify(oldSignature, body, rotated.JwksJson()));
            Assert.False(File.Exists(Path.Combine(path, "rotate")));
        }

        using var later = WebhookSigningKeys.Open(path, MaxAge, Retention, Start.AddDays(1) + Retention);
        Assert.False(WebhookSignature.Verify(oldSignature, body, later.JwksJson()));
        Assert.Single(Directory.GetFiles(path, "*.key"));
    }

    [Fact]
    public void Should_rotate_at_start_up_once_the_active_key_is_older_than_its_maximum_age()
    {
        var path = directory.Combine("keys");
        using var first = WebhookSigningKeys.Open(path, MaxAge, Retention, Start);
        using var aged = WebhookSigningKeys.Open(path, MaxAge, Retention, Start + MaxAge);
        Assert.NotEqual(first.ActiveKeyId, aged.ActiveKeyId);
    }
}

/// <summary>A receiver's check of <c>Webhook-Signature</c> against a JWKS, written from the documented format with NSec.</summary>
internal static class WebhookSignature
{
    public static bool Verify(string header, byte[] body, byte[] jwks)
    {
        var parts = header.Split(',').Select(part => part.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
        using var document = JsonDocument.Parse(jwks);
        var jwk = document.RootElement.GetProperty("keys").EnumerateArray()
            .FirstOrDefault(key => key.GetProperty("kid").GetString() == parts["kid"]);
        if (jwk.ValueKind != JsonValueKind.Object || jwk.GetProperty("kty").GetString() != "OKP" || jwk.GetProperty("crv").GetString() != "Ed25519")
        {
            return false;
        }

        var publicKey = PublicKey.Import(SignatureAlgorithm.Ed25519, FromBase64Url(jwk.GetProperty("x").GetString()!), KeyBlobFormat.RawPublicKey);
        var signed = Encoding.ASCII.GetBytes(parts["t"] + ".").Concat(body).ToArray();
        return SignatureAlgorithm.Ed25519.Verify(publicKey, signed, FromBase64Url(parts["ed25519"]));
    }

    private static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }
}
