using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Streams.Actors.Telemetry;

namespace Streams.Api.Telemetry;

/// <summary>
/// OpenTelemetry for the server: the engine's meter and ASP.NET Core's, served as Prometheus text
/// at <c>/metrics</c> (docs/adr/0006), and sent over OTLP too when an <c>OTEL_EXPORTER_OTLP_*</c>
/// endpoint is set (the exporter reads the standard <c>OTEL_*</c> variables itself).
/// </summary>
internal static class TelemetryExtensions
{
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Kestrel's buffer pool meter, which the ASP.NET Core instrumentation subscribes to. It records a
    /// measurement for every 4 KiB block rented and returned, so a 4 MiB read page cost a thousand
    /// metric updates (6 % of the server's CPU in a catch-up read's profile) for a figure no
    /// dashboard of this server shows.
    /// </summary>
    private const string KestrelMemoryPoolMeter = "Microsoft.AspNetCore.MemoryPool";

    private static readonly string[] OtlpEndpointVariables =
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ];

    public static IServiceCollection AddStreamsTelemetry(this IServiceCollection services)
    {
        // Without an endpoint the OTLP exporter would send to localhost:4317 and log every failure.
        var otlp = OtlpEndpointVariables.Any(variable => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)));
        var telemetry = services.AddOpenTelemetry();
        telemetry.WithMetrics(metrics =>
        {
            metrics
                .AddMeter(StreamsMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddView(instrument => instrument.Meter.Name == KestrelMemoryPoolMeter ? MetricStreamConfiguration.Drop : null)
                // No cached scrape: a scrape right after a write must show it (tests rely on it, and
                // Prometheus scrapes far less often than any cache would help).
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
            if (otlp)
            {
                metrics.AddOtlpExporter();
            }
        });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddOtlpExporter());
        }

        return services;
    }

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder routes)
    {
        routes.MapPrometheusScrapingEndpoint(MetricsPath);
        return routes;
    }
}
