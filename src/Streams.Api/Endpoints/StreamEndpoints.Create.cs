using System.Globalization;
using System.Text.RegularExpressions;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Api.Http;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

internal static partial class StreamEndpoints
{
    private static async Task CreateAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var request = context.Request;
        var headers = request.Headers;

        if (headers.ContainsKey(ProtocolHeaders.ForkedFrom))
        {
            await CreateForkAsync(context, gateway, settings, name);
            return;
        }

        if (headers.ContainsKey(ProtocolHeaders.ForkOffset) || headers.ContainsKey(ProtocolHeaders.ForkSubOffset))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "fork offsets require Stream-Forked-From");
            return;
        }

        if (!TryReadExpiry(headers, out var ttlSeconds, out var expiresAt, out var expiryProblem))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, expiryProblem);
            return;
        }

        var contentType = string.IsNullOrWhiteSpace(request.ContentType) ? ContentTypes.Default : request.ContentType.Trim();
        if (!IsMediaType(contentType))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "Content-Type is not a media type (type/subtype)");
            return;
        }

        var body = await ReadBodyOrRejectAsync(context, settings);
        if (body is null)
        {
            return;
        }

        List<byte[]> records;
        if (body.Length == 0)
        {
            records = [];
        }
        else if (ContentTypes.IsJson(contentType))
        {
            switch (JsonMessages.Split(body, settings.MaxAppendMessages, out records, out var jsonProblem))
            {
                case JsonSplit.Invalid:
                    await ResultMapping.WriteAsync(context, ErrorCode.InvalidJson, $"the body is not valid JSON: {jsonProblem}");
                    return;
                case JsonSplit.TooManyMessages:
                    await ResultMapping.WriteAsync(context, ErrorCode.PayloadTooLarge, jsonProblem);
                    return;
            }
        }
        else
        {
            records = [body];
        }

        var command = new CreateStream(name, contentType, ttlSeconds, expiresAt, ProtocolHeaders.IsTrue(headers[ProtocolHeaders.Closed]), records);
        var reply = await SendAsync(context, gateway, command, settings.AskTimeout);
        if (reply is not StreamCreated created)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        WriteCreated(context, created);
    }

    /// <summary>201 with the stream's URL for a new stream, 200 for an idempotent re-create.</summary>
    private static void WriteCreated(HttpContext context, StreamCreated created)
    {
        var request = context.Request;
        var response = context.Response;
        WriteStreamHeaders(response, created.Stream);
        if (created.Created)
        {
            response.StatusCode = StatusCodes.Status201Created;
            response.Headers.Location = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}";
        }
        else
        {
            response.StatusCode = StatusCodes.Status200OK;
        }
    }

    /// <summary>Stream-TTL xor Stream-Expires-At, both optional; false with the reason when malformed.</summary>
    private static bool TryReadExpiry(IHeaderDictionary headers, out long? ttlSeconds, out DateTimeOffset? expiresAt, out string problem)
    {
        ttlSeconds = null;
        expiresAt = null;
        problem = string.Empty;
        if (headers.TryGetValue(ProtocolHeaders.Ttl, out var ttlValues))
        {
            if (!TryParseTtl(ttlValues.ToString(), out var ttl))
            {
                problem = "Stream-TTL must be a non-negative whole number of seconds without sign or leading zeros";
                return false;
            }

            ttlSeconds = ttl;
        }

        if (headers.TryGetValue(ProtocolHeaders.ExpiresAt, out var expiresValues))
        {
            if (!TryParseTimestamp(expiresValues.ToString(), out var parsed))
            {
                problem = "Stream-Expires-At must be an RFC 3339 timestamp";
                return false;
            }

            expiresAt = parsed;
        }

        if (ttlSeconds is not null && expiresAt is not null)
        {
            problem = "Stream-TTL and Stream-Expires-At cannot both be given";
            return false;
        }

        return true;
    }

    [GeneratedRegex("^(0|[1-9][0-9]{0,17})$", RegexOptions.CultureInvariant)]
    private static partial Regex TtlPattern();

    internal static bool TryParseTtl(string value, out long seconds)
    {
        seconds = 0;
        return TtlPattern().IsMatch(value) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out seconds);
    }

    /// <summary>RFC 3339: a full date, 'T', a time and an explicit zone ('Z' or ±hh:mm).</summary>
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex TimestampPattern();

    internal static bool TryParseTimestamp(string value, out DateTimeOffset timestamp)
    {
        timestamp = default;
        return TimestampPattern().IsMatch(value) &&
            DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out timestamp);
    }
}
