namespace Streams.Api.Http;

/// <summary>
/// Browser-facing headers on every response (errors, SSE and long-poll included) and answers to
/// CORS preflight requests, before any endpoint runs and before authentication (browsers never
/// send credentials on a preflight). Only the protocol's own headers are allowed and exposed.
/// </summary>
internal sealed class BrowserHeaders(RequestDelegate next)
{
    private const string PreflightMaxAgeSeconds = "86400";
    private const string AllowedMethods = "GET, HEAD, PUT, POST, DELETE, OPTIONS";

    public Task InvokeAsync(HttpContext context)
    {
        Apply(context);

        if (HttpMethods.IsOptions(context.Request.Method))
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowMethods = AllowedMethods;
            headers.AccessControlAllowHeaders = ProtocolHeaders.AllowedFromBrowsers;
            headers.AccessControlMaxAge = PreflightMaxAgeSeconds;
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }

        return next(context);
    }

    /// <summary>The headers every response carries, errors included.</summary>
    public static void Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Cross-Origin-Resource-Policy"] = "cross-origin";
        var policy = context.RequestServices.GetRequiredService<CorsPolicy>();
        if (policy.VariesByOrigin)
        {
            headers.Vary = "Origin";
        }

        if (policy.AllowedOrigin(context.Request.Headers.Origin.ToString()) is { } allowed)
        {
            headers.AccessControlAllowOrigin = allowed;
            headers.AccessControlExposeHeaders = ProtocolHeaders.ExposedToBrowsers;
        }
    }
}
