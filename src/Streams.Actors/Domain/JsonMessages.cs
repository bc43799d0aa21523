using System.Text.Json;

namespace Streams.Actors.Domain;

/// <summary>
/// JSON mode: a body is one message, or — when it is an array — each element is one message
/// (flattened exactly one level). Each message is kept as its own UTF-8 text.
/// </summary>
public static class JsonMessages
{
    private static readonly JsonDocumentOptions StrictOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 256,
    };

    /// <summary>Splits a body into messages; false when the body is not valid JSON.</summary>
    public static bool TrySplit(ReadOnlyMemory<byte> body, out List<byte[]> messages)
    {
        messages = [];
        try
        {
            using var document = JsonDocument.Parse(body, StrictOptions);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var element in root.EnumerateArray())
                {
                    messages.Add(RawUtf8(element));
                }
            }
            else
            {
                messages.Add(RawUtf8(root));
            }

            return true;
        }
        catch (JsonException)
        {
            messages = [];
            return false;
        }
    }

    /// <summary>Writes messages as one JSON array, the shape every JSON read returns.</summary>
    public static byte[] ToArray(IReadOnlyList<ReadOnlyMemory<byte>> messages)
    {
        var length = 2 + Math.Max(0, messages.Count - 1);
        foreach (var message in messages)
        {
            length += message.Length;
        }

        var buffer = new byte[length];
        var at = 0;
        buffer[at++] = (byte)'[';
        for (var i = 0; i < messages.Count; i++)
        {
            if (i > 0)
            {
                buffer[at++] = (byte)',';
            }

            messages[i].Span.CopyTo(buffer.AsSpan(at));
            at += messages[i].Length;
        }

        buffer[at] = (byte)']';
        return buffer;
    }

    private static byte[] RawUtf8(JsonElement element) =>
        System.Text.Encoding.UTF8.GetBytes(element.GetRawText());
}
