using Streams.Actors.Domain;
using Streams.Actors.Restore;

namespace Streams.Api.Http;

/// <summary>
/// While an eager restore runs, only <c>/health</c>, <c>/ready</c> and <c>/metrics</c> answer; stream requests get 503 so nobody reads
/// a half-rebuilt index or creates a stream the restore is about to bring back.
/// </summary>
internal sealed class RestoreGate(RequestDelegate next, RestoreStatus status)
{
    /// <summary>Probes and the metrics scrape, which shows the restore's progress.</summary>
    private static readonly string[] OpenWhileRestoring = ["/health", "/ready", "/metrics"];

    public Task InvokeAsync(HttpContext context)
    {
        if (status.IsRestoring && !OpenWhileRestoring.Any(path => context.Request.Path.StartsWithSegments(path)))
        {
            return ResultMapping.WriteAsync(context, ErrorCode.Unavailable, "the server is restoring streams from the object store; retry shortly");
        }

        return next(context);
    }
}
