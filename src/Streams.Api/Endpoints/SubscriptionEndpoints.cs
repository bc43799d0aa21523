using Microsoft.AspNetCore.Http.Features;
using Streams.Actors.Config;
using Streams.Actors.Subscriptions;
using Streams.Api.Http;
using static Streams.Actors.Subscriptions.SubscriptionCommands;

namespace Streams.Api.Endpoints;

/// <summary>
/// The reserved control plane under <c>/v1/stream/__ds/</c>: subscriptions and the JWKS of the
/// webhook signing keys. Routed before stream operations (a literal segment outranks the stream
/// route's catch-all), so no stream can be named into it.
/// </summary>
internal static partial class SubscriptionEndpoints
{
    public const string ReservedPrefix = StreamEndpoints.RoutePrefix + "__ds/";
    private const string SubscriptionsSegment = "subscriptions";
    private const string JwksSegment = "jwks.json";

    /// <summary>Control-plane bodies are small JSON documents; anything larger is a mistake.</summary>
    private const long MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapSubscriptionEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.Map(ReservedPrefix + "{**rest}", Dispatch);
        return routes;
    }

    private static Task Dispatch(HttpContext context, ISubscriptionsGateway gateway, StreamsSettings settings)
    {
        var segments = SplitPath(context);
        var method = context.Request.Method;
        if (segments is [JwksSegment])
        {
            return HttpMethods.IsGet(method) || HttpMethods.IsHead(method)
                ? JwksAsync(context, gateway)
                : MethodNotAllowedAsync(context, "GET, HEAD");
        }

        if (segments.Length < 2 || segments[0] != SubscriptionsSegment)
        {
            return WriteErrorAsync(context, StatusCodes.Status404NotFound, "NOT_FOUND", "no such reserved endpoint");
        }

        var id = segments[1];
        if (SubscriptionRequests.IdProblem(id) is { } idProblem)
        {
            return WriteErrorAsync(context, StatusCodes.Status400BadRequest, "INVALID_REQUEST", idProblem);
        }

        var call = new Call(context, gateway, settings.AskTimeout, id);
        return segments[2..] switch
        {
            [] when HttpMethods.IsPut(method) => PutAsync(call),
            [] when HttpMethods.IsGet(method) => call.SendAsync(new GetSubscription(id)),
            [] when HttpMethods.IsDelete(method) => call.SendAsync(new DeleteSubscription(id)),
            [] => MethodNotAllowedAsync(context, "GET, PUT, DELETE"),
            ["streams"] when HttpMethods.IsPost(method) => AddStreamsAsync(call),
            ["streams"] => MethodNotAllowedAsync(context, "POST"),
            ["streams", var stream] when HttpMethods.IsDelete(method) => RemoveStreamAsync(call, stream),
            ["streams", _] => MethodNotAllowedAsync(context, "DELETE"),
            ["callback"] when HttpMethods.IsPost(method) => ReportAsync(call, report => new Callback(id, BearerToken(context), report)),
            ["claim"] when HttpMethods.IsPost(method) => ClaimAsync(call),
            ["ack"] when HttpMethods.IsPost(method) => ReportAsync(call, report => new Ack(id, BearerToken(context), report)),
            ["release"] when HttpMethods.IsPost(method) => ReportAsync(call, report => new Release(id, BearerToken(context), report.WakeId, report.Generation)),
            ["callback" or "claim" or "ack" or "release"] => MethodNotAllowedAsync(context, "POST"),
            _ => WriteErrorAsync(context, StatusCodes.Status404NotFound, "NOT_FOUND", "no such subscription endpoint"),
        };
    }

    private static async Task PutAsync(Call call)
    {
        if (await call.ReadBodyAsync() is not { } body)
        {
            return;
        }

        if (!SubscriptionRequests.TryParseSpec(body, call.Gateway.Limits, out var spec, out var problem))
        {
            await WriteErrorAsync(call.Context, StatusCodes.Status400BadRequest, "INVALID_REQUEST", problem);
            return;
        }

        if (spec.WebhookUrl is { } url && await call.Gateway.UrlPolicy.CheckAsync(url, call.Context.RequestAborted) is { } rejected)
        {
            await WriteErrorAsync(call.Context, StatusCodes.Status400BadRequest, "WEBHOOK_URL_REJECTED", rejected);
            return;
        }

        await call.SendAsync(new PutSubscription(call.Id, spec, PublicBaseUrl(call.Context)));
    }

    private static async Task AddStreamsAsync(Call call)
    {
        if (await call.ReadBodyAsync() is not { } body)
        {
            return;
        }

        if (!SubscriptionRequests.TryParseStreams(body, call.Gateway.Limits, out var streams, out var problem))
        {
            await WriteErrorAsync(call.Context, StatusCodes.Status400BadRequest, "INVALID_REQUEST", problem);
            return;
        }

        await call.SendAsync(new AddStreams(call.Id, streams));
    }

    private static Task RemoveStreamAsync(Call call, string stream)
    {
        var path = SubscriptionRequests.NormalizePath(stream);
        return SubscriptionRequests.StreamPathProblem(path, call.Gateway.Limits) is { } problem
            ? WriteErrorAsync(call.Context, StatusCodes.Status400BadRequest, "INVALID_REQUEST", problem)
            : call.SendAsync(new RemoveStream(call.Id, path));
    }

    private static async Task ReportAsync(Call call, Func<WakeReport, ISubscriptionCommand> command)
    {
        if (await call.ReadBodyAsync() is not { } body)
        {
            return;
        }

        if (!SubscriptionRequests.TryParseWakeReport(body, out var report, out var problem))
        {
            await WriteErrorAsync(call.Context, StatusCodes.Status400BadRequest, "INVALID_REQUEST", problem);
            return;
        }

        await call.SendAsync(command(report));
    }

    private static async Task ClaimAsync(Call call)
    {
        if (await call.ReadBodyAsync() is not { } body)
        {
            return;
        }

        if (!SubscriptionRequests.TryParseWorker(body, out var worker, out var problem))
        {
            await WriteErrorAsync(call.Context, StatusCodes.Status400BadRequest, "INVALID_REQUEST", problem);
            return;
        }

        await call.SendAsync(new Claim(call.Id, worker));
    }

    private static async Task JwksAsync(HttpContext context, ISubscriptionsGateway gateway)
    {
        var jwks = await gateway.JwksAsync(context.RequestAborted);
        var response = context.Response;
        response.ContentType = "application/jwk-set+json";
        // Receivers may cache the keys; a rotation keeps the old key published longer than this.
        response.Headers.CacheControl = "public, max-age=300";
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(jwks, context.RequestAborted);
        }
    }

    private static string? BearerToken(HttpContext context)
    {
        const string scheme = "Bearer ";
        var header = context.Request.Headers.Authorization.ToString();
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
    }

    /// <summary>How clients reached this server: the base of the callback and JWKS URLs handed out.</summary>
    private static string PublicBaseUrl(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}";

    /// <summary>
    /// The segments after <c>/v1/stream/__ds/</c>, each unescaped once from the raw target, so a
    /// stream path encoded as one segment (<c>manual%2Fb</c>) stays one segment.
    /// </summary>
    private static string[] SplitPath(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var raw = string.IsNullOrEmpty(rawTarget) ? (context.Request.PathBase + context.Request.Path).ToUriComponent() : rawTarget;
        var queryStart = raw.IndexOfAny(['?', '#']);
        if (queryStart >= 0)
        {
            raw = raw[..queryStart];
        }

        var prefixAt = raw.IndexOf(ReservedPrefix, StringComparison.Ordinal);
        var segments = raw[(prefixAt + ReservedPrefix.Length)..].Split('/').Select(Uri.UnescapeDataString).ToArray();
        return segments is [.., ""] ? segments[..^1] : segments;
    }

    private static Task MethodNotAllowedAsync(HttpContext context, string allowed)
    {
        context.Response.Headers.Allow = allowed;
        return WriteErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "METHOD_NOT_ALLOWED", $"method {context.Request.Method} is not supported here");
    }

    /// <summary>One request: where it came from, where it goes, and how long it may wait.</summary>
    private sealed record Call(HttpContext Context, ISubscriptionsGateway Gateway, TimeSpan Timeout, string Id)
    {
        public async Task SendAsync(ISubscriptionCommand command)
        {
            var reply = await Gateway.SendAsync(command, Timeout, Context.RequestAborted);
            await WriteReplyAsync(Context, reply);
        }

        /// <summary>The body, or null after answering 413.</summary>
        public async Task<byte[]?> ReadBodyAsync()
        {
            var body = await RequestBody.ReadAsync(Context.Request, MaxBodyBytes, Context.RequestAborted);
            if (body is null)
            {
                await WriteErrorAsync(Context, StatusCodes.Status413PayloadTooLarge, "PAYLOAD_TOO_LARGE", $"the body is larger than {MaxBodyBytes} bytes");
            }

            return body;
        }
    }
}
