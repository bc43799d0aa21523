using Streams.Actors.Domain;
using Streams.Actors.Restore;

namespace Streams.Api.Http;

/// <summary>
/// While an eager restore runs, only <c>/health</c> answers; stream requests get 503 so nobody reads
/// a half-rebuilt index or creates a stream the restore is about to bring back.
/// </summary>
internal sealed class RestoreGate(RequestDelegate next, RestoreStatus status)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (status.IsRestoring && !context.Request.Path.StartsWithSegments("/health"))
        {
            return ResultMapping.WriteAsync(context, ErrorCode.Unavailable, "the server is restoring streams from the object store; retry shortly");
        }

        return next(context);
    }
}
