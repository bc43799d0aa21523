using Streams.Api.Endpoints;
using Streams.Api.Http;

namespace Streams.Api.Security;

/// <summary>
/// Which streams a request touches and how. A stream route needs read (GET, HEAD) or read-write
/// (PUT, POST, DELETE) on the stream's name, and a fork also read on its source; every other route
/// (the stream listing, metrics, a protected health check, unknown paths) is node-wide and needs a
/// key without a prefix.
/// </summary>
internal static class AccessRules
{
    /// <summary>Null when <paramref name="key"/> may make this request; otherwise why not.</summary>
    public static string? Refusal(HttpContext context, ApiKey key)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments(StreamEndpoints.RoutePrefix.TrimEnd('/'), out var rest) || !rest.HasValue || rest.Value == "/")
        {
            return key.CoversNode ? null : "this key is limited to a stream prefix and cannot use node-wide routes";
        }

        var method = request.Method;
        var needed = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? KeyAccess.Read : KeyAccess.ReadWrite;
        if (!key.Allows(needed))
        {
            return "this key is read-only";
        }

        // A name the endpoint will refuse anyway (bad escapes, empty) touches no stream: let it answer 400.
        if (!StreamEndpoints.TryGetStreamName(context, out var name, out _))
        {
            return null;
        }

        if (HttpMethods.IsGet(method) && name.EndsWith(AdminEndpoints.DetailsSuffix, StringComparison.Ordinal))
        {
            name = name[..^AdminEndpoints.DetailsSuffix.Length];
        }

        if (!key.Covers(name))
        {
            return "this key does not cover the stream";
        }

        if (HttpMethods.IsPut(method) &&
            request.Headers.TryGetValue(ProtocolHeaders.ForkedFrom, out var source) &&
            StreamEndpoints.TryParseForkSource(source.ToString(), out var sourceName, out _) &&
            !key.Covers(sourceName))
        {
            return "this key does not cover the fork's source stream";
        }

        return null;
    }
}
