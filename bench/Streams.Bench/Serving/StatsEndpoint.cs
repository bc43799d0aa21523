using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;

namespace Streams.Bench.Serving;

/// <summary>
/// <c>GET /_bench/stats</c> on a served node: object-store calls so far and the restore status. Put in
/// front of the server's own middleware so it answers even while an eager restore holds every other route.
/// </summary>
internal sealed class StatsEndpoint : IStartupFilter
{
    public const string Path = "/_bench/stats";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            if (context.Request.Path != Path)
            {
                await nextMiddleware(context);
                return;
            }

            var calls = context.RequestServices.GetRequiredService<ObjectStoreCalls>();
            var restore = context.RequestServices.GetRequiredService<RestoreStatus>();
            context.Response.ContentType = "application/json";
            await using var json = new Utf8JsonWriter(context.Response.Body);
            json.WriteStartObject();
            json.WriteStartObject("object_store");
            foreach (var operation in Enum.GetValues<ObjectStoreOperation>())
            {
                json.WriteNumber(operation.ToString().ToLowerInvariant(), calls.Count(operation));
            }

            json.WriteEndObject();
            json.WriteStartObject("restore");
            json.WriteBoolean("restoring", restore.IsRestoring);
            json.WriteNumber("done", restore.Done);
            json.WriteNumber("total", restore.Total);
            json.WriteNumber("failed", restore.Failed);
            if (context.RequestServices.GetRequiredService<RestoreClock>().Elapsed is { } elapsed)
            {
                json.WriteNumber("elapsed_ms", elapsed.TotalMilliseconds);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        });
        next(app);
    };
}
