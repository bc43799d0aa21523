using System.Text.Json;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

/// <summary>Operator endpoints: a stream's pipeline details and the list of local streams.</summary>
internal static class AdminEndpoints
{
    public const string DetailsSuffix = "/_details";
    private const int DefaultListLimit = 100;
    private const int MaxListLimit = 1000;

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/streams", ListAsync);
        return routes;
    }

    public static async Task DetailsAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var reply = await gateway.SendAsync(new GetStreamDetails(name), settings.AskTimeout, context.RequestAborted);
        if (reply is not StreamDetailsReported details)
        {
            await (reply is StreamRejected rejected
                ? ResultMapping.WriteAsync(context, rejected)
                : ResultMapping.WriteAsync(context, ErrorCode.Unavailable, "unexpected reply"));
            return;
        }

        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("name", details.Stream.Name);
        json.WriteString("content_type", details.Stream.ContentType);
        json.WriteString("next_offset", details.Stream.Tail.ToString());
        json.WriteString("sealed_through", details.SealedThrough.ToString());
        json.WriteString("uploaded_through", details.UploadedThrough.ToString());
        json.WriteBoolean("closed", details.Stream.Closed);
        json.WriteNumber("segment_count", details.SegmentCount);
        json.WriteNumber("uploaded_segment_count", details.UploadedSegmentCount);
        json.WriteNumber("pending_rows", details.PendingRows);
        json.WriteNumber("pending_bytes", details.PendingBytes);
        json.WriteNumber("manifest_generation", details.ManifestGeneration);
        if (details.LastUploadAt is { } uploadedAt)
        {
            json.WriteString("last_upload_at", uploadedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull("last_upload_at");
        }

        json.WriteString("last_upload_error", details.LastUploadError);
        json.WriteBoolean("restored", details.Restored);
        // Answered by the owner itself (a cluster forwards _details like any stream request).
        var node = context.RequestServices.GetRequiredService<StreamsNode>();
        json.WriteString("owner_node", node.Name);
        json.WriteEndObject();
    }

    private static async Task ListAsync(HttpContext context, IStreamsGateway gateway)
    {
        var query = context.Request.Query;
        var limit = DefaultListLimit;
        if (query.TryGetValue("limit", out var limitValues) &&
            (!int.TryParse(limitValues.ToString(), out limit) || limit < 1 || limit > MaxListLimit))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, $"limit must be a whole number from 1 to {MaxListLimit}");
            return;
        }

        var after = query.TryGetValue("after", out var afterValues) ? afterValues.ToString() : null;
        var names = await gateway.ListStreamsAsync(after, limit, context.RequestAborted);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteStartArray("streams");
        foreach (var name in names)
        {
            json.WriteStringValue(name);
        }

        json.WriteEndArray();
        if (names.Count == limit)
        {
            json.WriteString("next_after", names[^1]);
        }
        else
        {
            json.WriteNull("next_after");
        }

        json.WriteEndObject();
    }
}
