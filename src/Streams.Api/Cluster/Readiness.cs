using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Restore;

namespace Streams.Api.Cluster;

/// <summary>
/// <c>/ready</c>: whether a load balancer should send this node requests. <c>/health</c> stays
/// liveness (the process answers). Ready means any restore is done and nothing is shutting down;
/// in a cluster also that this node is an Up member (joined, not leaving).
/// </summary>
internal static class Readiness
{
    public static IEndpointRouteBuilder MapReadiness(this IEndpointRouteBuilder routes)
    {
        // HEAD too: load balancers often probe without a body.
        routes.MapMethods("/ready", [HttpMethods.Get, HttpMethods.Head], (RestoreStatus restore, DrainState drain, StreamsNode node, IHostApplicationLifetime lifetime) =>
        {
            // From the moment the host begins to stop (a cluster node then hands its shards off), not only once the drain runs.
            var stopping = drain.IsDraining || lifetime.ApplicationStopping.IsCancellationRequested;
            var state = Evaluate(restore.IsRestoring, stopping, node.Clustered, node.Region is not null, node.MemberStatus);
            return Results.Json(
                new ReadyStatus(state, node.Clustered ? node.Name : null, node.MemberStatus),
                ReadyJsonContext.Default.ReadyStatus,
                statusCode: state == Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return routes;
    }

    public const string Ready = "ready";

    /// <summary>The node's readiness as one word: ready, restoring, draining, starting or the member status.</summary>
    public static string Evaluate(bool restoring, bool stopping, bool clustered, bool regionStarted, string? memberStatus)
    {
        if (stopping)
        {
            return "draining";
        }

        if (restoring)
        {
            return "restoring";
        }

        if (!clustered)
        {
            return Ready;
        }

        if (!regionStarted || memberStatus is null)
        {
            return "starting";
        }

        return memberStatus == "Up" ? Ready : memberStatus.ToLowerInvariant();
    }
}

internal sealed record ReadyStatus(string Status, string? Node, string? Member);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ReadyStatus))]
internal sealed partial class ReadyJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
