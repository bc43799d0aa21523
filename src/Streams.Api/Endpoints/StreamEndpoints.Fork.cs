using System.Globalization;
using System.Text.RegularExpressions;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Api.Http;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

internal static partial class StreamEndpoints
{
    /// <summary>
    /// PUT with <c>Stream-Forked-From</c>: only the headers are checked here. Whether the source exists,
    /// the offset is within it, the sub-offset fits and the content types agree is for the source's
    /// owner to say; the body is split by the fork's owner once the (possibly inherited) content type
    /// is known.
    /// </summary>
    private static async Task CreateForkAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var request = context.Request;
        var headers = request.Headers;

        if (!TryParseForkSource(headers[ProtocolHeaders.ForkedFrom].ToString(), out var sourceName, out var sourceProblem))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, sourceProblem);
            return;
        }

        Offset? forkOffset = null;
        if (headers.TryGetValue(ProtocolHeaders.ForkOffset, out var offsetValues))
        {
            if (offsetValues.Count != 1 || !Offset.TryParse(offsetValues[0], out var parsed))
            {
                await ResultMapping.WriteAsync(context, ErrorCode.InvalidOffset, "Stream-Fork-Offset must be an offset this server returned");
                return;
            }

            forkOffset = parsed;
        }

        long subOffset = 0;
        if (headers.TryGetValue(ProtocolHeaders.ForkSubOffset, out var subOffsetValues) &&
            !TryParseSubOffset(subOffsetValues.ToString(), out subOffset))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "Stream-Fork-Sub-Offset must be a non-negative whole number without sign or leading zeros");
            return;
        }

        if (!TryReadExpiry(headers, out var ttlSeconds, out var expiresAt, out var expiryProblem))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, expiryProblem);
            return;
        }

        var contentType = string.IsNullOrWhiteSpace(request.ContentType) ? null : request.ContentType.Trim();
        if (contentType is not null && !IsMediaType(contentType))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "Content-Type is not a media type (type/subtype)");
            return;
        }

        var body = await ReadBodyOrRejectAsync(context, settings);
        if (body is null)
        {
            return;
        }

        var command = new CreateFork(
            name,
            contentType,
            ttlSeconds,
            expiresAt,
            ProtocolHeaders.IsTrue(headers[ProtocolHeaders.Closed]),
            body,
            sourceName,
            forkOffset,
            subOffset);
        var reply = await SendAsync(context, gateway, command, settings.AskTimeout);
        if (reply is not StreamCreated created)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        WriteCreated(context, created);
    }

    /// <summary>
    /// The source is named by its path on this server (<c>/v1/stream/&lt;name&gt;</c>, percent-encoded as
    /// in a request line); an absolute http(s) URL is accepted for its path.
    /// </summary>
    internal static bool TryParseForkSource(string value, out string name, out string problem)
    {
        name = string.Empty;
        var path = value.Trim();
        // Checked by scheme: on Unix "/v1/stream/x" itself parses as an absolute file URI.
        if (Uri.TryCreate(path, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            path = uri.AbsolutePath;
        }

        var queryStart = path.IndexOfAny(['?', '#']);
        if (queryStart >= 0)
        {
            path = path[..queryStart];
        }

        if (!path.StartsWith(RoutePrefix, StringComparison.Ordinal))
        {
            problem = $"Stream-Forked-From must be the source stream's path, {RoutePrefix}<name>";
            return false;
        }

        if (!TryUnescape(path.AsSpan(RoutePrefix.Length), out var decoded))
        {
            problem = "Stream-Forked-From is not correctly percent-encoded UTF-8";
            return false;
        }

        if (!IsValidStreamName(decoded, out problem))
        {
            problem = $"Stream-Forked-From: {problem}";
            return false;
        }

        name = decoded;
        return true;
    }

    [GeneratedRegex("^(0|[1-9][0-9]{0,17})$", RegexOptions.CultureInvariant)]
    private static partial Regex SubOffsetPattern();

    internal static bool TryParseSubOffset(string value, out long subOffset)
    {
        subOffset = 0;
        return SubOffsetPattern().IsMatch(value) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out subOffset);
    }
}
