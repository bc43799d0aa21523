using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Streams.Actors.Domain;

namespace Streams.Actors.Subscriptions;

/// <summary>A stream a subscription follows: linked explicitly, by its pattern, or both; and how far it is acknowledged.</summary>
public sealed record StreamLink(bool Explicit, bool Glob, Offset AckedOffset);

/// <summary>
/// Everything about a subscription that must survive a restart or a move to another node: its
/// declared configuration, its links with their acknowledged offsets, and its wake generation
/// (so a callback or claim token of an earlier generation stays fenced). Stream tails, the wake
/// under way and its lease are not kept: a new owner learns the tails from the streams, and a
/// wake that was under way is delivered again under a higher generation (at-least-once).
/// Stored as <c>subscriptions/&lt;sha256(id)&gt;.json</c> in the object store
/// (docs/storage-format.md).
/// </summary>
public sealed record SubscriptionDocument(
    string Id,
    SubscriptionSpec Spec,
    string ConfigHash,
    DateTimeOffset CreatedAt,
    string PublicBaseUrl,
    long Generation,
    IReadOnlyDictionary<string, StreamLink> Links)
{
    public const int FormatVersion = 1;
    public const string KeyPrefix = "subscriptions/";
    private const string KeyExtension = ".json";

    public static string KeyOf(string id) =>
        KeyPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id))) + KeyExtension;

    public static bool IsDocumentKey(string key) =>
        key.StartsWith(KeyPrefix, StringComparison.Ordinal) && key.EndsWith(KeyExtension, StringComparison.Ordinal)
        && key.IndexOf('/', KeyPrefix.Length) < 0;

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", FormatVersion);
            writer.WriteString("id", Id);
            writer.WriteString("type", SubscriptionSpec.TypeName(Spec.Type));
            writer.WriteString("pattern", Spec.Pattern);
            writer.WriteStartArray("streams");
            foreach (var stream in Spec.Streams)
            {
                writer.WriteStringValue(stream);
            }

            writer.WriteEndArray();
            writer.WriteString("webhook_url", Spec.WebhookUrl);
            writer.WriteString("wake_stream", Spec.WakeStream);
            writer.WriteNumber("lease_ttl_ms", Spec.LeaseTtlMs);
            writer.WriteString("description", Spec.Description);
            writer.WriteString("config_hash", ConfigHash);
            writer.WriteString("created_at", CreatedAt.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteString("public_base_url", PublicBaseUrl);
            writer.WriteNumber("generation", Generation);
            writer.WriteStartArray("links");
            foreach (var (path, link) in Links.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject();
                writer.WriteString("path", path);
                writer.WriteBoolean("explicit", link.Explicit);
                writer.WriteBoolean("glob", link.Glob);
                writer.WriteString("acked_offset", link.AckedOffset.ToString());
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Throws <see cref="FormatException"/> for a document this version cannot read.</summary>
    public static SubscriptionDocument FromJson(byte[] json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var format = root.GetProperty("format").GetInt32();
            if (format != FormatVersion)
            {
                throw new FormatException($"subscription document format {format} is not supported (this server reads {FormatVersion})");
            }

            var type = root.GetProperty("type").GetString() == SubscriptionSpec.WebhookTypeName ? SubscriptionType.Webhook : SubscriptionType.PullWake;
            var spec = new SubscriptionSpec(
                type,
                OptionalString(root, "pattern"),
                root.GetProperty("streams").EnumerateArray().Select(item => item.GetString()!).ToList(),
                OptionalString(root, "webhook_url"),
                OptionalString(root, "wake_stream"),
                root.GetProperty("lease_ttl_ms").GetInt64(),
                OptionalString(root, "description"));
            var links = new Dictionary<string, StreamLink>(StringComparer.Ordinal);
            foreach (var link in root.GetProperty("links").EnumerateArray())
            {
                if (!Offset.TryParse(link.GetProperty("acked_offset").GetString(), out var acked))
                {
                    throw new FormatException("a link's acked_offset is not an offset");
                }

                links[link.GetProperty("path").GetString()!] = new StreamLink(
                    link.GetProperty("explicit").GetBoolean(),
                    link.GetProperty("glob").GetBoolean(),
                    acked);
            }

            return new SubscriptionDocument(
                root.GetProperty("id").GetString()!,
                spec,
                root.GetProperty("config_hash").GetString()!,
                DateTimeOffset.Parse(root.GetProperty("created_at").GetString()!, CultureInfo.InvariantCulture),
                root.GetProperty("public_base_url").GetString()!,
                root.GetProperty("generation").GetInt64(),
                links);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"subscription document is malformed: {exception.Message}", exception);
        }
    }

    private static string? OptionalString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
