using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Streams.Actors.Subscriptions;

public enum SubscriptionType
{
    Webhook,
    PullWake,
}

/// <summary>
/// A subscription's configuration as a client declares it with PUT. Two PUTs with the same
/// normalized configuration are the same subscription (200); any difference is a conflict (409).
/// Stream paths are stream-root-relative (<c>events/abc</c>), without leading or trailing '/'.
/// </summary>
public sealed record SubscriptionSpec(
    SubscriptionType Type,
    string? Pattern,
    IReadOnlyList<string> Streams,
    string? WebhookUrl,
    string? WakeStream,
    long LeaseTtlMs,
    string? Description)
{
    public const string WebhookTypeName = "webhook";
    public const string PullWakeTypeName = "pull-wake";

    public static string TypeName(SubscriptionType type) => type == SubscriptionType.Webhook ? WebhookTypeName : PullWakeTypeName;

    /// <summary>SHA-256 over a canonical JSON of the normalized configuration.</summary>
    public string ConfigHash()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", TypeName(Type));
            writer.WriteString("pattern", Pattern);
            writer.WriteStartArray("streams");
            foreach (var stream in Streams)
            {
                writer.WriteStringValue(stream);
            }

            writer.WriteEndArray();
            writer.WriteString("webhook_url", WebhookUrl);
            writer.WriteString("wake_stream", WakeStream);
            writer.WriteNumber("lease_ttl_ms", LeaseTtlMs);
            writer.WriteString("description", Description);
            writer.WriteEndObject();
        }

        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }
}

/// <summary>Limits on what a client may declare; from <c>streams.subscriptions</c>.</summary>
public sealed record SubscriptionLimits(
    int MaxPatternLength,
    int MaxStreamsPerRequest,
    int MaxStreamNameBytes,
    int MaxDescriptionLength,
    long MinLeaseTtlMs,
    long MaxLeaseTtlMs,
    long DefaultLeaseTtlMs);

/// <summary>Reads and checks request bodies of the subscription control plane; every problem is a sentence for the client.</summary>
public static class SubscriptionRequests
{
    private const int MaxIdLength = 128;
    private const int MaxJsonDepth = 16;

    /// <summary>Ids are one URL path segment: letters, digits and <c>-_.~</c>.</summary>
    public static string? IdProblem(string id)
    {
        if (id.Length is 0 or > MaxIdLength)
        {
            return $"a subscription id has 1 to {MaxIdLength} characters";
        }

        return id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~') && id is not "." and not ".."
            ? null
            : "a subscription id may contain only letters, digits and '-', '_', '.', '~'";
    }

    public static bool TryParseSpec(ReadOnlySpan<byte> body, SubscriptionLimits limits, out SubscriptionSpec spec, out string problem)
    {
        spec = null!;
        if (!TryParseObject(body, out var root, out problem))
        {
            return false;
        }

        using (root)
        {
            var element = root.RootElement;
            if (!TryGetString(element, "type", required: true, out var typeName, out problem))
            {
                return false;
            }

            SubscriptionType type;
            switch (typeName)
            {
                case SubscriptionSpec.WebhookTypeName:
                    type = SubscriptionType.Webhook;
                    break;
                case SubscriptionSpec.PullWakeTypeName:
                    type = SubscriptionType.PullWake;
                    break;
                default:
                    problem = $"type must be '{SubscriptionSpec.WebhookTypeName}' or '{SubscriptionSpec.PullWakeTypeName}'";
                    return false;
            }

            if (!TryGetString(element, "pattern", required: false, out var pattern, out problem))
            {
                return false;
            }

            if (pattern is not null && StreamGlob.Problem(NormalizePath(pattern), limits.MaxPatternLength) is { } patternProblem)
            {
                problem = patternProblem;
                return false;
            }

            var streams = new List<string>();
            if (element.TryGetProperty("streams", out var streamsElement) && streamsElement.ValueKind != JsonValueKind.Null
                && !TryParseStreamList(streamsElement, limits, streams, out problem))
            {
                return false;
            }

            string? webhookUrl = null;
            if (element.TryGetProperty("webhook", out var webhook) && webhook.ValueKind != JsonValueKind.Null)
            {
                if (webhook.ValueKind != JsonValueKind.Object)
                {
                    problem = "webhook must be an object with a url";
                    return false;
                }

                if (!TryGetString(webhook, "url", required: true, out webhookUrl, out problem))
                {
                    problem = $"webhook.{problem}";
                    return false;
                }
            }

            if (!TryGetString(element, "wake_stream", required: false, out var wakeStream, out problem)
                || !TryGetString(element, "description", required: false, out var description, out problem))
            {
                return false;
            }

            if (type == SubscriptionType.Webhook && webhookUrl is null)
            {
                problem = "a webhook subscription needs webhook.url";
                return false;
            }

            if (type == SubscriptionType.PullWake && webhookUrl is not null)
            {
                problem = "a pull-wake subscription has no webhook";
                return false;
            }

            if (type == SubscriptionType.PullWake)
            {
                if (wakeStream is null)
                {
                    problem = "a pull-wake subscription needs wake_stream (a JSON stream the wakes are appended to)";
                    return false;
                }

                wakeStream = NormalizePath(wakeStream);
                if (StreamPathProblem(wakeStream, limits) is { } wakeProblem)
                {
                    problem = $"wake_stream: {wakeProblem}";
                    return false;
                }
            }
            else if (wakeStream is not null)
            {
                problem = "wake_stream belongs to pull-wake subscriptions only";
                return false;
            }

            if (description is { Length: var length } && length > limits.MaxDescriptionLength)
            {
                problem = $"description is longer than {limits.MaxDescriptionLength} characters";
                return false;
            }

            var leaseTtlMs = limits.DefaultLeaseTtlMs;
            if (element.TryGetProperty("lease_ttl_ms", out var lease) && lease.ValueKind != JsonValueKind.Null)
            {
                if (lease.ValueKind != JsonValueKind.Number || !lease.TryGetInt64(out leaseTtlMs)
                    || leaseTtlMs < limits.MinLeaseTtlMs || leaseTtlMs > limits.MaxLeaseTtlMs)
                {
                    problem = $"lease_ttl_ms must be a whole number from {limits.MinLeaseTtlMs} to {limits.MaxLeaseTtlMs}";
                    return false;
                }
            }

            spec = new SubscriptionSpec(
                type,
                pattern is null ? null : NormalizePath(pattern),
                streams.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
                webhookUrl,
                wakeStream,
                leaseTtlMs,
                description);
            return true;
        }
    }

    /// <summary>Body of <c>POST …/streams</c>: <c>{"streams": ["a", "b"]}</c>.</summary>
    public static bool TryParseStreams(ReadOnlySpan<byte> body, SubscriptionLimits limits, out IReadOnlyList<string> streams, out string problem)
    {
        var parsed = new List<string>();
        streams = parsed;
        if (!TryParseObject(body, out var root, out problem))
        {
            return false;
        }

        using (root)
        {
            if (!root.RootElement.TryGetProperty("streams", out var element))
            {
                problem = "streams is required (an array of stream paths)";
                return false;
            }

            if (!TryParseStreamList(element, limits, parsed, out problem))
            {
                return false;
            }

            streams = parsed.Distinct(StringComparer.Ordinal).ToList();
            return true;
        }
    }

    /// <summary>Body of the callback, ack and release: <c>{wake_id, generation, acks?: [{stream, offset}], done?}</c>.</summary>
    public static bool TryParseWakeReport(ReadOnlySpan<byte> body, out WakeReport report, out string problem)
    {
        report = null!;
        if (!TryParseObject(body, out var root, out problem))
        {
            return false;
        }

        using (root)
        {
            var element = root.RootElement;
            if (!TryGetString(element, "wake_id", required: true, out var wakeId, out problem))
            {
                return false;
            }

            if (!element.TryGetProperty("generation", out var generationElement)
                || generationElement.ValueKind != JsonValueKind.Number
                || !generationElement.TryGetInt64(out var generation))
            {
                problem = "generation is required (the whole number from the wake)";
                return false;
            }

            var acks = new List<StreamAck>();
            if (element.TryGetProperty("acks", out var acksElement) && acksElement.ValueKind != JsonValueKind.Null)
            {
                if (acksElement.ValueKind != JsonValueKind.Array)
                {
                    problem = "acks must be an array of {stream, offset}";
                    return false;
                }

                foreach (var ack in acksElement.EnumerateArray())
                {
                    if (ack.ValueKind != JsonValueKind.Object)
                    {
                        problem = "every ack must be an object {stream, offset}";
                        return false;
                    }

                    var streamKey = ack.TryGetProperty("stream", out _) ? "stream" : "path";
                    if (!TryGetString(ack, streamKey, required: true, out var stream, out problem)
                        || !TryGetString(ack, "offset", required: true, out var offset, out problem))
                    {
                        problem = $"ack: {problem}";
                        return false;
                    }

                    acks.Add(new StreamAck(NormalizePath(stream!), offset!));
                }
            }

            var done = false;
            if (element.TryGetProperty("done", out var doneElement) && doneElement.ValueKind != JsonValueKind.Null)
            {
                if (doneElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    problem = "done must be true or false";
                    return false;
                }

                done = doneElement.GetBoolean();
            }

            report = new WakeReport(wakeId!, generation, acks, done);
            return true;
        }
    }

    /// <summary>Body of a claim: <c>{"worker": "name"}</c>.</summary>
    public static bool TryParseWorker(ReadOnlySpan<byte> body, out string worker, out string problem)
    {
        worker = string.Empty;
        if (!TryParseObject(body, out var root, out problem))
        {
            return false;
        }

        using (root)
        {
            if (!TryGetString(root.RootElement, "worker", required: true, out var name, out problem))
            {
                return false;
            }

            if (name!.Length is 0 or > MaxIdLength)
            {
                problem = $"worker has 1 to {MaxIdLength} characters";
                return false;
            }

            worker = name;
            return true;
        }
    }

    public static string NormalizePath(string path) => path.Trim('/');

    public static string? StreamPathProblem(string path, SubscriptionLimits limits)
    {
        if (path.Length == 0)
        {
            return "a stream path must not be empty";
        }

        if (Encoding.UTF8.GetByteCount(path) > limits.MaxStreamNameBytes)
        {
            return $"a stream path is at most {limits.MaxStreamNameBytes} bytes";
        }

        return path.Any(char.IsControl) ? "a stream path must not contain control characters" : null;
    }

    private static bool TryParseStreamList(JsonElement element, SubscriptionLimits limits, List<string> streams, out string problem)
    {
        problem = string.Empty;
        if (element.ValueKind != JsonValueKind.Array)
        {
            problem = "streams must be an array of stream paths";
            return false;
        }

        if (element.GetArrayLength() > limits.MaxStreamsPerRequest)
        {
            problem = $"streams has more than {limits.MaxStreamsPerRequest} entries";
            return false;
        }

        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                problem = "streams must contain only strings";
                return false;
            }

            var path = NormalizePath(item.GetString()!);
            if (StreamPathProblem(path, limits) is { } pathProblem)
            {
                problem = $"streams: {pathProblem}";
                return false;
            }

            streams.Add(path);
        }

        return true;
    }

    private static bool TryParseObject(ReadOnlySpan<byte> body, out JsonDocument document, out string problem)
    {
        document = null!;
        problem = string.Empty;
        if (body.IsEmpty)
        {
            problem = "the body must be a JSON object";
            return false;
        }

        try
        {
            // Parse, not ParseValue: anything after the object is an error, not ignored.
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException exception)
        {
            problem = $"the body is not valid JSON: {exception.Message}";
            return false;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            problem = "the body must be a JSON object";
            return false;
        }

        return true;
    }

    private static bool TryGetString(JsonElement element, string name, bool required, out string? value, out string problem)
    {
        value = null;
        problem = string.Empty;
        if (!element.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                problem = $"{name} is required";
                return false;
            }

            return true;
        }

        if (property.ValueKind != JsonValueKind.String)
        {
            problem = $"{name} must be a string";
            return false;
        }

        value = property.GetString();
        return true;
    }
}

public sealed record StreamAck(string Stream, string Offset);

/// <summary>What a webhook receiver (callback) or a pull-wake worker (ack, release) reports about its wake.</summary>
public sealed record WakeReport(string WakeId, long Generation, IReadOnlyList<StreamAck> Acks, bool Done);
