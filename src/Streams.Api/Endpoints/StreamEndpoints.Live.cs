using System.Text;
using System.Text.Json;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Api.Http;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

internal static partial class StreamEndpoints
{
    private static readonly byte[] DataEventHeader = "event: data\n"u8.ToArray();
    private static readonly byte[] ControlEventHeader = "event: control\n"u8.ToArray();
    private static readonly byte[] DataPrefix = "data:"u8.ToArray();
    private static readonly byte[] LineEnd = "\n"u8.ToArray();

    /// <summary>
    /// SSE: catch up batch by batch (one data event per batch, each followed by a control event),
    /// then wait for appends; ends after the final control of a closed stream, when the client goes
    /// away, when the server begins to stop, or after the maximum connection age (the client resumes
    /// from the last offset).
    /// </summary>
    private static async Task ServerSentEventsAsync(
        HttpContext context,
        IStreamsGateway gateway,
        StreamsSettings settings,
        string name,
        ReadStart start,
        string? cursor)
    {
        var reply = await SendAsync(context, gateway, new ReadStream(name, start, WaitFor: null, settings.MaxReadBytes), settings.AskTimeout);
        if (reply is not ReadCompleted read)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        var response = context.Response;
        var textual = ContentTypes.IsTextual(read.Stream.ContentType);
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        if (!textual)
        {
            response.Headers[ProtocolHeaders.SseDataEncoding] = "base64";
        }

        var isJson = ContentTypes.IsJson(read.Stream.ContentType);
        var deadline = DateTimeOffset.UtcNow + settings.SseMaxConnectionAge;
        using var endConnection = LiveReadCancellation(context);
        var aborted = endConnection.Token;
        var first = true;
        try
        {
            while (true)
            {
                // A data event and its control event go out in one write: every write to the response
                // is sent at once, and a client that stops reading after a data event's blank line
                // would otherwise miss the control event that belongs to it.
                using var events = new MemoryStream();
                if (read.Records.Count > 0)
                {
                    WriteDataEvent(events, read, isJson, textual);
                }

                if (read.Records.Count > 0 || first || read.TimedOut || read.Closed)
                {
                    WriteControlEvent(events, read, cursor);
                    await response.Body.WriteAsync(events.GetBuffer().AsMemory(0, (int)events.Length), aborted);
                    await response.Body.FlushAsync(aborted);
                }

                first = false;
                var remaining = deadline - DateTimeOffset.UtcNow;
                if (read.Closed || remaining <= TimeSpan.Zero || aborted.IsCancellationRequested)
                {
                    return;
                }

                var wait = read.UpToDate ? (TimeSpan?)Min(settings.LongPollTimeout, remaining) : null;
                var next = await gateway.SendAsync(
                    new ReadStream(name, ReadStart.At(read.Next), wait, settings.MaxReadBytes),
                    (wait ?? TimeSpan.Zero) + settings.AskTimeout,
                    aborted);
                if (next is not ReadCompleted nextRead)
                {
                    // The stream went away or failed mid-connection: end the event stream; the
                    // client's reconnect gets the error as a proper response.
                    return;
                }

                read = nextRead;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client disconnected, or the server is stopping: the event stream just ends and the
            // client reconnects from the last offset it was sent.
        }
    }

    private static TimeSpan Min(TimeSpan left, TimeSpan right) => left < right ? left : right;

    private static void WriteDataEvent(MemoryStream buffer, ReadCompleted read, bool isJson, bool textual)
    {
        byte[] payload;
        if (isJson)
        {
            payload = JsonMessages.ToArray(read.Records);
        }
        else
        {
            var length = 0;
            foreach (var record in read.Records)
            {
                length += record.Length;
            }

            payload = new byte[length];
            var at = 0;
            foreach (var record in read.Records)
            {
                record.Span.CopyTo(payload.AsSpan(at));
                at += record.Length;
            }
        }

        buffer.Write(DataEventHeader);
        if (textual)
        {
            // Every line of the payload gets its own "data:" prefix, whatever its line ending, so a
            // payload can never smuggle in an event boundary.
            var text = Encoding.UTF8.GetString(payload);
            var lineStart = 0;
            for (var i = 0; i <= text.Length; i++)
            {
                var atEnd = i == text.Length;
                if (!atEnd && text[i] != '\r' && text[i] != '\n')
                {
                    continue;
                }

                buffer.Write(DataPrefix);
                buffer.Write(Encoding.UTF8.GetBytes(text[lineStart..i]));
                buffer.Write(LineEnd);
                if (!atEnd && text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                lineStart = i + 1;
            }
        }
        else
        {
            buffer.Write(DataPrefix);
            buffer.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(payload)));
            buffer.Write(LineEnd);
        }

        buffer.Write(LineEnd);
    }

    private static void WriteControlEvent(MemoryStream buffer, ReadCompleted read, string? cursor)
    {
        buffer.Write(ControlEventHeader);
        buffer.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("streamNextOffset", read.Next.ToString());
            if (read.Closed)
            {
                json.WriteBoolean("streamClosed", true);
                json.WriteBoolean("upToDate", true);
            }
            else
            {
                json.WriteString("streamCursor", StreamCursor.Next(cursor, DateTimeOffset.UtcNow));
                if (read.UpToDate)
                {
                    json.WriteBoolean("upToDate", true);
                }
            }

            json.WriteEndObject();
        }

        buffer.Write(LineEnd);
        buffer.Write(LineEnd);
    }
}
