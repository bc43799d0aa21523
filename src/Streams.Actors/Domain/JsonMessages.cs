using System.Text.Json;
using System.Text.Unicode;

namespace Streams.Actors.Domain;

/// <summary>The outcome of splitting a JSON body into messages.</summary>
public enum JsonSplit
{
    Valid,
    Invalid,
    TooManyMessages,
}

/// <summary>
/// JSON mode: a body is one message, or — when it is an array — each element is one message
/// (flattened exactly one level). Each message is kept as its own UTF-8 text, byte for byte as sent.
/// </summary>
public static class JsonMessages
{
    /// <summary>Deeper nesting is refused: a parser's recursion is the cost a hostile body controls.</summary>
    public const int MaxDepth = 256;

    private static readonly JsonReaderOptions StrictOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
    };

    /// <summary>Splits a body into messages; false when the body is not valid JSON.</summary>
    public static bool TrySplit(ReadOnlyMemory<byte> body, out List<byte[]> messages) =>
        Split(body, int.MaxValue, out messages, out _) == JsonSplit.Valid;

    /// <summary>
    /// Splits a body into messages, at most <paramref name="maxMessages"/> of them. On failure
    /// <paramref name="problem"/> says what is wrong and <paramref name="messages"/> is empty.
    /// </summary>
    public static JsonSplit Split(ReadOnlyMemory<byte> body, int maxMessages, out List<byte[]> messages, out string problem)
    {
        messages = [];
        problem = string.Empty;
        // JSON text is UTF-8 (RFC 8259); the reader alone would let broken sequences inside strings through.
        if (!Utf8.IsValid(body.Span))
        {
            problem = "the body is not valid UTF-8";
            return JsonSplit.Invalid;
        }

        var reader = new Utf8JsonReader(body.Span, StrictOptions);
        try
        {
            if (!reader.Read())
            {
                problem = "the body holds no JSON value";
                return JsonSplit.Invalid;
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (messages.Count == maxMessages)
                    {
                        messages = [];
                        problem = $"the array holds more than {maxMessages} messages";
                        return JsonSplit.TooManyMessages;
                    }

                    messages.Add(NextValue(ref reader, body.Span));
                }
            }
            else
            {
                messages.Add(NextValue(ref reader, body.Span));
            }

            // Only whitespace may follow the value; the reader throws on anything else.
            reader.Read();
            return JsonSplit.Valid;
        }
        catch (JsonException exception)
        {
            messages = [];
            problem = exception.Message;
            return JsonSplit.Invalid;
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

    /// <summary>The exact bytes of the value the reader stands on (its first token), leaving the reader on its last token.</summary>
    private static byte[] NextValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        return body[start..(int)reader.BytesConsumed].ToArray();
    }
}
