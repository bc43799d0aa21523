using Streams.Api.Endpoints;

namespace Streams.Api.Http;

/// <summary>
/// Every log line written while a request is handled carries its stream name (for stream routes)
/// in a scope, next to the <c>RequestId</c> scope ASP.NET Core opens for each request. Nothing
/// from the request's headers is logged, so a key never reaches a log.
/// </summary>
internal sealed class RequestLogScope(RequestDelegate next, ILogger<RequestLogScope> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var stream = context.Request.Path.StartsWithSegments(StreamEndpoints.RoutePrefix.TrimEnd('/')) &&
            StreamEndpoints.TryGetStreamName(context, out var name, out _)
            ? name
            : null;
        using (logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = context.TraceIdentifier, ["Stream"] = stream }))
        {
            await next(context);
        }
    }
}
