using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Telemetry;

namespace Streams.Api.Http;

/// <summary>
/// <c>streams.limits.concurrent-requests</c>: requests handled at once. One over gets 503
/// overloaded at once (never queued: a queue would only add latency to an overloaded node). Live
/// reads are bounded by <see cref="LiveReaderLimit"/> instead, and probes and the metrics scrape
/// are never refused, so an overloaded node can still be seen.
/// </summary>
internal sealed class ConcurrencyLimit(RequestDelegate next, StreamsSettings settings)
{
    private const string LimitName = "concurrent-requests";
    private static readonly string[] NeverRefused = ["/health", "/ready", "/metrics"];

    private int inFlight;

    public async Task InvokeAsync(HttpContext context)
    {
        if (LiveReaderLimit.IsLiveRead(context.Request) || NeverRefused.Any(path => context.Request.Path.StartsWithSegments(path)))
        {
            await next(context);
            return;
        }

        try
        {
            if (Interlocked.Increment(ref inFlight) > settings.MaxConcurrentRequests)
            {
                StreamsMetrics.Overloaded(LimitName);
                await ResultMapping.WriteAsync(context, ErrorCode.Overloaded, $"the server is at its {LimitName} limit; retry shortly");
                return;
            }

            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }
}
