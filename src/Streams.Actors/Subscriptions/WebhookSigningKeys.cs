using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NSec.Cryptography;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// The Ed25519 keys that sign webhook deliveries. One key is active; keys it replaced stay
/// published in the JWKS for <c>signing-key-retention</c> so receivers can still verify deliveries
/// signed shortly before a rotation. Each key lives in its own file under
/// <c>&lt;data-dir&gt;/subscriptions/keys/</c>, created with mode 0600 in a 0700 directory: only
/// the server's user can read a private key. Rotation happens at start-up once the active key is
/// older than <c>signing-key-max-age</c>, or at the next start after an operator creates an empty
/// file named <c>rotate</c> in that directory (see docs/subscriptions.md). Signing is NSec (libsodium); no
/// cryptography is written here.
/// </summary>
public sealed class WebhookSigningKeys : IDisposable
{
    public const string KeyIdPrefix = "ds_";
    private const string KeyFileExtension = ".key";
    private const string RotateRequestFile = "rotate";
    private const int KeyIdHashChars = 16;
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    private readonly List<SigningKey> keys;

    private WebhookSigningKeys(List<SigningKey> keys)
    {
        this.keys = keys;
    }

    /// <summary>The key new deliveries are signed with.</summary>
    public string ActiveKeyId => keys[0].KeyId;

    /// <summary>Loads the keys under <paramref name="directory"/>, creating or rotating the active one as needed.</summary>
    public static WebhookSigningKeys Open(string directory, TimeSpan maxAge, TimeSpan retention, DateTimeOffset now)
    {
        CreatePrivateDirectory(directory);
        var stored = Directory.EnumerateFiles(directory, "*" + KeyFileExtension)
            .Select(ReadKeyFile)
            .OrderByDescending(key => key.CreatedAt)
            .ToList();
        var rotateRequest = Path.Combine(directory, RotateRequestFile);
        var rotate = File.Exists(rotateRequest);
        var active = stored.FirstOrDefault(key => key.RetiredAt is null);
        if (active is null || rotate || now - active.CreatedAt >= maxAge)
        {
            if (active is not null)
            {
                active = active with { RetiredAt = now };
                WriteKeyFile(directory, active);
                stored[stored.FindIndex(key => key.KeyId == active.KeyId)] = active;
            }

            var created = CreateKey(now);
            WriteKeyFile(directory, created);
            stored.Insert(0, created);
            File.Delete(rotateRequest);
        }

        var kept = new List<SigningKey>();
        foreach (var key in stored)
        {
            if (key.RetiredAt is { } retiredAt && now - retiredAt >= retention)
            {
                // Past its retention no receiver should still hold a delivery signed with it.
                File.Delete(KeyPath(directory, key.KeyId));
                key.Key.Dispose();
                continue;
            }

            kept.Add(key);
        }

        return new WebhookSigningKeys(kept);
    }

    /// <summary>The <c>Webhook-Signature</c> header for <paramref name="body"/>: Ed25519 over <c>"&lt;t&gt;.&lt;body&gt;"</c>.</summary>
    public string Sign(ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        var active = keys[0];
        var timestamp = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var prefix = Encoding.ASCII.GetBytes(timestamp + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        var signature = Algorithm.Sign(active.Key, signed);
        return $"t={timestamp},kid={active.KeyId},ed25519={Base64Url(signature)}";
    }

    /// <summary>The public halves of the keys, active first; what a cluster node publishes for the others.</summary>
    public IReadOnlyList<PublicSigningKey> PublicKeys() =>
        keys.Select(key => new PublicSigningKey(key.KeyId, Base64Url(key.Key.PublicKey.Export(KeyBlobFormat.RawPublicKey)), key.CreatedAt, key.RetiredAt)).ToList();

    /// <summary>The public keys as a JWK set (RFC 8037: OKP, Ed25519, EdDSA).</summary>
    public byte[] JwksJson() => JwksJson(PublicKeys());

    /// <summary>A JWK set of <paramref name="publicKeys"/>, in the order given.</summary>
    public static byte[] JwksJson(IEnumerable<PublicSigningKey> publicKeys)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in publicKeys)
            {
                writer.WriteStartObject();
                writer.WriteString("kty", "OKP");
                writer.WriteString("crv", "Ed25519");
                writer.WriteString("alg", "EdDSA");
                writer.WriteString("use", "sig");
                writer.WriteString("kid", key.KeyId);
                writer.WriteString("x", key.X);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public void Dispose()
    {
        foreach (var key in keys)
        {
            key.Key.Dispose();
        }
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static SigningKey CreateKey(DateTimeOffset now)
    {
        var key = Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var keyId = KeyIdPrefix + Base64Url(SHA256.HashData(publicKey))[..KeyIdHashChars];
        return new SigningKey(keyId, now, null, key);
    }

    private static void CreatePrivateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static string KeyPath(string directory, string keyId) => Path.Combine(directory, keyId + KeyFileExtension);

    private static SigningKey ReadKeyFile(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var privateKey = Convert.FromBase64String(root.GetProperty("private_key").GetString()!);
        var key = Key.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        CryptographicOperations.ZeroMemory(privateKey);
        var retired = root.TryGetProperty("retired_at", out var retiredElement) && retiredElement.ValueKind == JsonValueKind.String
            ? DateTimeOffset.Parse(retiredElement.GetString()!, CultureInfo.InvariantCulture)
            : (DateTimeOffset?)null;
        return new SigningKey(
            root.GetProperty("kid").GetString()!,
            DateTimeOffset.Parse(root.GetProperty("created_at").GetString()!, CultureInfo.InvariantCulture),
            retired,
            key);
    }

    /// <summary>Written to a temp file created 0600, then renamed: a crash leaves the old file or the new one.</summary>
    private static void WriteKeyFile(string directory, SigningKey key)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kid", key.KeyId);
            writer.WriteString("alg", "Ed25519");
            writer.WriteString("created_at", key.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
            if (key.RetiredAt is { } retiredAt)
            {
                writer.WriteString("retired_at", retiredAt.ToString("O", CultureInfo.InvariantCulture));
            }

            writer.WriteString("private_key", Convert.ToBase64String(key.Key.Export(KeyBlobFormat.RawPrivateKey)));
            writer.WriteEndObject();
        }

        var path = KeyPath(directory, key.KeyId);
        var temp = path + ".tmp";
        // A temp file left by a crash may have been created with other permissions; start afresh.
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Set at creation, so the private key is never readable by others, not even for a moment.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(temp, options))
        {
            file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            // Durable before the rename: a key that signed deliveries must not vanish in a crash.
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private sealed record SigningKey(string KeyId, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt, Key Key);
}

/// <summary>The public half of a signing key: <paramref name="X"/> is the raw Ed25519 public key, base64url.</summary>
public sealed record PublicSigningKey(string KeyId, string X, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt);
