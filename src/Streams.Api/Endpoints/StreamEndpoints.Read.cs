using System.Globalization;
using Microsoft.Extensions.Primitives;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Api.Http;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

internal static partial class StreamEndpoints
{
    private const string CacheableHistory = "public, max-age=60, stale-while-revalidate=300";
    private const string LiveModeLongPoll = "long-poll";
    private const string LiveModeSse = "sse";

    private static async Task ReadAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var query = context.Request.Query;
        var start = ReadStart.Beginning;
        var hasOffset = query.TryGetValue("offset", out var offsetValues);
        if (hasOffset && (offsetValues.Count != 1 || !ReadStart.TryParse(offsetValues[0], out start)))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidOffset, "offset must be -1, now, or an offset this server returned");
            return;
        }

        var live = query.TryGetValue("live", out var liveValues) ? liveValues.ToString() : null;
        if (live is not null && live != LiveModeLongPoll && live != LiveModeSse)
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "live must be long-poll or sse");
            return;
        }

        if (live is not null && !hasOffset)
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidOffset, "live reads need an offset");
            return;
        }

        var cursor = query.TryGetValue("cursor", out var cursorValues) ? cursorValues.ToString() : null;
        switch (live)
        {
            case LiveModeLongPoll:
                await LongPollAsync(context, gateway, settings, name, start, cursor);
                break;
            case LiveModeSse:
                await ServerSentEventsAsync(context, gateway, settings, name, start, cursor);
                break;
            default:
                await CatchUpAsync(context, gateway, settings, name, start);
                break;
        }
    }

    private static async Task CatchUpAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name, ReadStart start)
    {
        var reply = await SendAsync(context, gateway, new ReadStream(name, start, WaitFor: null, settings.MaxReadBytes), settings.AskTimeout);
        if (reply is not ReadCompleted read)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        var response = context.Response;
        WriteReadHeaders(response, read);
        if (start.Kind == ReadStartKind.Tail)
        {
            // "now" names a moving position: never cache it.
            response.Headers.CacheControl = "no-store";
        }
        else
        {
            var etag = $"\"{read.Stream.Incarnation}:{read.From}:{read.Next}{(read.Closed ? ":c" : string.Empty)}\"";
            response.Headers.ETag = etag;
            response.Headers.CacheControl = read.UpToDate ? "no-cache" : CacheableHistory;
            if (context.Request.Headers.IfNoneMatch == new StringValues(etag))
            {
                response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }
        }

        response.StatusCode = StatusCodes.Status200OK;
        await WriteBodyAsync(context, read);
    }

    private static async Task LongPollAsync(
        HttpContext context,
        IStreamsGateway gateway,
        StreamsSettings settings,
        string name,
        ReadStart start,
        string? cursor)
    {
        var wait = settings.LongPollTimeout;
        using var endWait = LiveReadCancellation(context);
        object reply;
        try
        {
            reply = await gateway.SendAsync(new ReadStream(name, start, wait, settings.MaxReadBytes), wait + settings.AskTimeout, endWait.Token);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The server is stopping: answer now rather than hold the drain back for the rest of the wait.
            // A cluster node's streams move to the other nodes, where the read is asked again.
            var clustered = context.RequestServices.GetRequiredService<StreamsNode>().Clustered;
            await ResultMapping.WriteAsync(context, clustered ? ErrorCode.StreamMoving : ErrorCode.Unavailable, "the server is shutting down; retry");
            return;
        }

        if (reply is not ReadCompleted read)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        var response = context.Response;
        WriteReadHeaders(response, read);
        if (!read.Closed)
        {
            response.Headers[ProtocolHeaders.Cursor] = StreamCursor.Next(cursor, DateTimeOffset.UtcNow);
        }

        if (read.Records.Count == 0)
        {
            response.Headers.CacheControl = "no-store";
            response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        response.Headers.CacheControl = CacheableHistory;
        response.StatusCode = StatusCodes.Status200OK;
        await WriteBodyAsync(context, read);
    }

    /// <summary>
    /// Ends a live read when the client goes away or the server begins to stop. On SIGTERM the host
    /// closes the listener and waits for requests in flight before the drain publishes anything; a
    /// long-poll or SSE connection left to run its course would delay the drain by up to its full
    /// length and could leave it too little of the shutdown time.
    /// </summary>
    private static CancellationTokenSource LiveReadCancellation(HttpContext context) =>
        CancellationTokenSource.CreateLinkedTokenSource(
            context.RequestAborted,
            context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);

    private static void WriteReadHeaders(HttpResponse response, ReadCompleted read)
    {
        response.Headers.ContentType = read.Stream.ContentType;
        response.Headers[ProtocolHeaders.NextOffset] = read.Next.ToString();
        if (read.UpToDate)
        {
            response.Headers[ProtocolHeaders.UpToDate] = "true";
        }

        if (read.Closed)
        {
            response.Headers[ProtocolHeaders.Closed] = "true";
        }
    }

    private static async Task WriteBodyAsync(HttpContext context, ReadCompleted read)
    {
        var response = context.Response;
        if (ContentTypes.IsJson(read.Stream.ContentType))
        {
            var array = JsonMessages.ToArray(read.Records);
            response.ContentLength = array.Length;
            await response.Body.WriteAsync(array, context.RequestAborted);
            return;
        }

        long length = 0;
        foreach (var record in read.Records)
        {
            length += record.Length;
        }

        response.ContentLength = length;
        foreach (var record in read.Records)
        {
            await response.Body.WriteAsync(record, context.RequestAborted);
        }
    }

    private static async Task HeadAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var reply = await SendAsync(context, gateway, new DescribeStream(name), settings.AskTimeout);
        if (reply is not StreamDescribed described)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        var response = context.Response;
        WriteStreamHeaders(response, described.Stream);
        if (described.Stream.TtlSeconds is { } ttl)
        {
            response.Headers[ProtocolHeaders.Ttl] = Invariant(ttl);
        }

        if (described.Stream.ExpiresAt is { } expiresAt)
        {
            response.Headers[ProtocolHeaders.ExpiresAt] = expiresAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        }

        response.Headers.CacheControl = "no-store";
        response.StatusCode = StatusCodes.Status200OK;
    }

    private static async Task DeleteAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var reply = await SendAsync(context, gateway, new DeleteStream(name), settings.AskTimeout);
        if (reply is not StreamDeleted)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }
}
