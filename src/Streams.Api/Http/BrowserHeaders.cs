namespace Streams.Api.Http;

/// <summary>
/// Browser-facing headers on every response (errors, SSE and long-poll included) and answers to
/// CORS preflight requests, before any endpoint runs.
/// </summary>
internal sealed class BrowserHeaders(RequestDelegate next)
{
    private const string PreflightMaxAgeSeconds = "86400";
    private const string AllowedMethods = "GET, HEAD, PUT, POST, DELETE, OPTIONS";

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Response.Headers;
        Apply(headers);

        if (HttpMethods.IsOptions(context.Request.Method))
        {
            headers.AccessControlAllowMethods = AllowedMethods;
            // Echo what the browser asks for: the protocol's headers plus anything a client library adds.
            var requested = context.Request.Headers.AccessControlRequestHeaders.ToString();
            headers.AccessControlAllowHeaders = string.IsNullOrWhiteSpace(requested)
                ? ProtocolHeaders.AllowedFromBrowsers
                : $"{ProtocolHeaders.AllowedFromBrowsers}, {requested}";
            headers.AccessControlMaxAge = PreflightMaxAgeSeconds;
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }

        return next(context);
    }

    /// <summary>The headers every response carries, errors included.</summary>
    public static void Apply(IHeaderDictionary headers)
    {
        headers.XContentTypeOptions = "nosniff";
        headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlExposeHeaders = ProtocolHeaders.ExposedToBrowsers;
    }
}
