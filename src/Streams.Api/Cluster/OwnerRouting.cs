using Microsoft.AspNetCore.Http.Features;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Api.Endpoints;
using Streams.Api.Http;

namespace Streams.Api.Cluster;

/// <summary>
/// Cluster mode: any node answers for any stream. A stream request is handled here when this node
/// owns the stream, and otherwise forwarded over HTTP to the owner (bodies streamed both ways, so
/// SSE and long-poll work through any node). A forwarded request carries <see cref="HopHeader"/> and
/// is always handled where it lands, so nothing is forwarded twice. While a stream moves (its owner
/// answers "moving", refuses the connection, or the local owner has just handed it off) the owner is
/// asked for again after a pause, until the request's deadline: requests that arrive during a move
/// wait and are then answered.
/// </summary>
internal sealed class OwnerRouting(
    RequestDelegate next,
    StreamOwnerDirectory directory,
    OwnerProxy proxy,
    StreamsSettings settings,
    ILogger<OwnerRouting> logger)
{
    /// <summary>Marks a request forwarded by another node; its value names that node.</summary>
    public const string HopHeader = "Streams-Forwarded-By";

    /// <summary>On a 503 from an owner: the stream is moving, so the forwarding node asks again.</summary>
    public const string MovingHeader = "Streams-Moving";

    private static readonly object HandledLocallyKey = new();

    private static readonly PathString ReservedPath = new(SubscriptionEndpoints.ReservedPrefix.TrimEnd('/'));

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.Path.StartsWithSegments("/v1/stream", StringComparison.Ordinal) ||
            // The reserved control plane names no stream: every node answers it, reaching the
            // subscriptions' owner through the singleton proxy (SubscriptionEndpoints).
            request.Path.StartsWithSegments(ReservedPath, StringComparison.Ordinal) ||
            request.Headers.ContainsKey(HopHeader) ||
            HttpMethods.IsOptions(request.Method) ||
            !StreamEndpoints.TryGetStreamName(context, out var name, out _))
        {
            // Forwarded here, or not about one stream (the endpoint answers bad names itself).
            await next(context);
            return;
        }

        var streamName = name.EndsWith(AdminEndpoints.DetailsSuffix, StringComparison.Ordinal) && name.Length > AdminEndpoints.DetailsSuffix.Length
            ? name[..^AdminEndpoints.DetailsSuffix.Length]
            : name;
        // A body may have to be sent again (to the next owner after a move): keep what was read.
        request.EnableBuffering();
        var aborted = context.RequestAborted;
        var deadline = DateTimeOffset.UtcNow + settings.AskTimeout;
        for (var attempt = 1; ; attempt++)
        {
            if (attempt > 1)
            {
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    logger.LogWarning("Stream {Stream} was still moving after {Timeout}", streamName, settings.AskTimeout);
                    await ResultMapping.WriteAsync(context, ErrorCode.Unavailable, "the stream is moving between nodes; retry");
                    return;
                }

                await Task.Delay(settings.MoveRetryPause, aborted);
                request.Body.Position = 0;
            }

            var owner = await directory.LocateAsync(streamName, aborted);
            if (owner is null)
            {
                continue;
            }

            if (owner.IsLocal)
            {
                context.Items[HandledLocallyKey] = true;
                try
                {
                    await next(context);
                    return;
                }
                catch (StreamMovedException) when (!context.Response.HasStarted)
                {
                    // Handed off between the question and the request: nothing was applied here.
                    context.Items.Remove(HandledLocallyKey);
                    context.Response.Clear();
                    BrowserHeaders.Apply(context);
                    continue;
                }
            }

            if (await proxy.ForwardAsync(context, owner, aborted) == ForwardOutcome.Answered)
            {
                return;
            }

            directory.Forget(streamName);
        }
    }

    /// <summary>
    /// Called where a "moving" rejection would be written: a request this node took for itself is
    /// retried by <see cref="InvokeAsync"/>; one forwarded here is answered 503 with <see cref="MovingHeader"/>
    /// so the node that forwarded it retries.
    /// </summary>
    public static void OnMoving(HttpContext context)
    {
        if (context.Items.ContainsKey(HandledLocallyKey) && !context.Response.HasStarted)
        {
            throw new StreamMovedException();
        }

        context.Response.Headers[MovingHeader] = "true";
    }

    /// <summary>A request must go back to <see cref="OwnerRouting"/> to find the stream's new owner.</summary>
    private sealed class StreamMovedException() : Exception("the stream moved to another node");
}
