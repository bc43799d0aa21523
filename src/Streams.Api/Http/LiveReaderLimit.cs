using System.Collections.Concurrent;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Telemetry;
using Streams.Api.Endpoints;

namespace Streams.Api.Http;

/// <summary>
/// <c>streams.limits.live-readers-per-node</c> and <c>-per-stream</c>: open long-poll and SSE
/// requests. Each one holds a connection and a parked reader in its stream's owner for up to the
/// long-poll timeout (SSE: the connection age), so they are bounded apart from other requests.
/// Over a limit the read gets 503 overloaded with Retry-After; the client retries, as it would
/// after any long-poll.
/// </summary>
internal sealed class LiveReaderLimit(RequestDelegate next, StreamsSettings settings)
{
    private readonly ConcurrentDictionary<string, int> perStream = new(StringComparer.Ordinal);
    private int perNode;

    public static bool IsLiveRead(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) &&
        request.Query.TryGetValue("live", out var live) && live.Count == 1 && live[0] is "long-poll" or "sse";

    public async Task InvokeAsync(HttpContext context)
    {
        // A bad name is answered 400 by the endpoint without waiting.
        if (!IsLiveRead(context.Request) || !StreamEndpoints.TryGetStreamName(context, out var name, out _))
        {
            await next(context);
            return;
        }

        var refusal = Enter(name);
        try
        {
            if (refusal is not null)
            {
                StreamsMetrics.LiveReaderRefused(refusal);
                await ResultMapping.WriteAsync(context, ErrorCode.Overloaded, $"too many live readers ({refusal} limit); retry shortly");
                return;
            }

            StreamsMetrics.LiveReaderStarted();
            try
            {
                await next(context);
            }
            finally
            {
                StreamsMetrics.LiveReaderEnded();
            }
        }
        finally
        {
            Leave(name);
        }
    }

    /// <summary>Counts the reader in (always, so <see cref="Leave"/> is unconditional); the limit it broke, or null.</summary>
    private string? Enter(string name)
    {
        var node = Interlocked.Increment(ref perNode);
        var stream = perStream.AddOrUpdate(name, 1, (_, count) => count + 1);
        return node > settings.MaxLiveReadersPerNode ? "per-node"
            : stream > settings.MaxLiveReadersPerStream ? "per-stream"
            : null;
    }

    private void Leave(string name)
    {
        Interlocked.Decrement(ref perNode);
        // Removed only while still at zero, so a reader counted in meanwhile is never lost.
        if (perStream.AddOrUpdate(name, 0, (_, count) => count - 1) == 0)
        {
            perStream.TryRemove(KeyValuePair.Create(name, 0));
        }
    }
}
