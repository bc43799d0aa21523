using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Protocol;
using Streams.Api.Http;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

/// <summary>
/// <c>/v1/stream/{name}</c>: one route, dispatched by method, so that names may contain '/' and
/// every method outside the protocol gets a clear 405.
/// </summary>
internal static partial class StreamEndpoints
{
    public const string RoutePrefix = "/v1/stream/";
    private const int MaxStreamNameBytes = 1024;
    private const string AllowedMethods = "GET, HEAD, PUT, POST, DELETE, OPTIONS";

    public static IEndpointRouteBuilder MapStreamEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.Map("/v1/stream/{**path}", Dispatch);
        routes.Map("/v1/stream", (HttpContext context) =>
            ResultMapping.WriteAsync(context, ErrorCode.InvalidStreamName, "the request names no stream"));
        return routes;
    }

    private static Task Dispatch(HttpContext context, IStreamsGateway gateway, StreamsSettings settings)
    {
        if (!TryGetStreamName(context, out var name, out var problem))
        {
            return ResultMapping.WriteAsync(context, ErrorCode.InvalidStreamName, problem);
        }

        var method = context.Request.Method;
        if (HttpMethods.IsPut(method))
        {
            return CreateAsync(context, gateway, settings, name);
        }

        if (HttpMethods.IsPost(method))
        {
            return AppendAsync(context, gateway, settings, name);
        }

        if (HttpMethods.IsGet(method))
        {
            return name.EndsWith(AdminEndpoints.DetailsSuffix, StringComparison.Ordinal) && name.Length > AdminEndpoints.DetailsSuffix.Length
                ? AdminEndpoints.DetailsAsync(context, gateway, settings, name[..^AdminEndpoints.DetailsSuffix.Length])
                : ReadAsync(context, gateway, settings, name);
        }

        if (HttpMethods.IsHead(method))
        {
            return HeadAsync(context, gateway, settings, name);
        }

        if (HttpMethods.IsDelete(method))
        {
            return DeleteAsync(context, gateway, settings, name);
        }

        context.Response.Headers.Allow = AllowedMethods;
        return ResultMapping.WriteAsync(context, ErrorCode.MethodNotAllowed, $"method {method} is not supported on a stream");
    }

    /// <summary>
    /// The name is taken from the raw request target and unescaped exactly once, so "%2F" and "/"
    /// name the same stream. Unescaping is strict: a '%' that does not start an escape, or escapes
    /// that do not decode to UTF-8, are refused rather than kept as text — otherwise "a%ZZ" and
    /// "a%25ZZ" would name the same stream.
    /// </summary>
    internal static bool TryGetStreamName(HttpContext context, out string name, out string problem)
    {
        name = string.Empty;
        // A server that does not report the raw target (the in-memory test server leaves it empty)
        // gets its decoded path escaped once more, so the single unescape below still applies. Only
        // there, a literal '%' followed by two hex digits in a name cannot be told from an escape.
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var raw = string.IsNullOrEmpty(rawTarget)
            ? (context.Request.PathBase + context.Request.Path).ToUriComponent()
            : rawTarget;
        var queryStart = raw.IndexOfAny(['?', '#']);
        if (queryStart >= 0)
        {
            raw = raw[..queryStart];
        }

        var prefixAt = raw.IndexOf(RoutePrefix, StringComparison.Ordinal);
        if (prefixAt < 0)
        {
            problem = "the request names no stream";
            return false;
        }

        if (!TryUnescape(raw.AsSpan(prefixAt + RoutePrefix.Length), out var decoded))
        {
            problem = "the stream name is not correctly percent-encoded UTF-8";
            return false;
        }

        if (!IsValidStreamName(decoded, out problem))
        {
            return false;
        }

        name = decoded;
        return true;
    }

    /// <summary>The rules every stream name obeys, however it reached us (URL or fork header).</summary>
    private static bool IsValidStreamName(string decoded, out string problem)
    {
        if (decoded.Length == 0)
        {
            problem = "the stream name is empty";
            return false;
        }

        if (Encoding.UTF8.GetByteCount(decoded) > MaxStreamNameBytes)
        {
            problem = $"the stream name is longer than {MaxStreamNameBytes} bytes";
            return false;
        }

        // By code point, so a surrogate pair (a character outside the BMP, such as an emoji) is one
        // valid character and only a lone half is refused.
        for (var i = 0; i < decoded.Length;)
        {
            if (Rune.DecodeFromUtf16(decoded.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done
                || Rune.IsControl(rune))
            {
                problem = "the stream name contains a control character or broken UTF-16";
                return false;
            }

            i += consumed;
        }

        foreach (var segment in decoded.Split('/'))
        {
            if (segment is "." or "..")
            {
                problem = "the stream name contains a '.' or '..' path segment";
                return false;
            }
        }

        problem = string.Empty;
        return true;
    }

    /// <summary>
    /// A stream's content type is stored and echoed on every read, so it must at least be a
    /// well-formed media type; its value is otherwise free (any type/subtype, any parameters).
    /// </summary>
    private static bool IsMediaType(string contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed) && parsed.Type.HasValue && parsed.Type.Length > 0 && parsed.SubType.Length > 0;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Percent-decodes a stream path (URL or fork header): every '%' must start a two-digit hex escape.</summary>
    internal static bool TryUnescape(ReadOnlySpan<char> escaped, out string decoded)
    {
        decoded = string.Empty;
        var bytes = new byte[escaped.Length];
        var length = 0;
        for (var i = 0; i < escaped.Length; i++)
        {
            var c = escaped[i];
            if (c == '%')
            {
                if (i + 2 >= escaped.Length ||
                    !byte.TryParse(escaped.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
                {
                    return false;
                }

                bytes[length++] = value;
                i += 2;
            }
            else if (c > '\x7F')
            {
                // Kestrel refuses raw non-ASCII targets; anything else giving us one is refused too.
                return false;
            }
            else
            {
                bytes[length++] = (byte)c;
            }
        }

        try
        {
            decoded = StrictUtf8.GetString(bytes, 0, length);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static async Task<object> SendAsync(HttpContext context, IStreamsGateway gateway, IStreamCommand command, TimeSpan timeout) =>
        await gateway.SendAsync(command, timeout, context.RequestAborted);

    /// <summary>The whole request body, or null after answering 413 when it is over the configured limit.</summary>
    private static async Task<byte[]?> ReadBodyOrRejectAsync(HttpContext context, StreamsSettings settings)
    {
        var body = await RequestBody.ReadAsync(context.Request, settings.MaxAppendBytes, context.RequestAborted);
        if (body is null)
        {
            await ResultMapping.WriteAsync(context, ErrorCode.PayloadTooLarge, $"the body is larger than {settings.MaxAppendBytes} bytes");
        }

        return body;
    }

    /// <summary>Answers anything that is not the expected reply type.</summary>
    private static Task WriteUnexpectedAsync(HttpContext context, object reply) =>
        reply is StreamRejected rejected
            ? ResultMapping.WriteAsync(context, rejected)
            : ResultMapping.WriteAsync(context, ErrorCode.Unavailable, $"unexpected reply {reply.GetType().Name}");

    private static void WriteStreamHeaders(HttpResponse response, StreamView stream)
    {
        response.Headers.ContentType = stream.ContentType;
        response.Headers[ProtocolHeaders.NextOffset] = stream.Tail.ToString();
        if (stream.Closed)
        {
            response.Headers[ProtocolHeaders.Closed] = "true";
        }
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
