using System.Globalization;
using Streams.Actors.Hosting;
using Streams.Actors.Restore;
using Streams.Api;
using Streams.Api.Cluster;
using Streams.Api.Endpoints;
using Streams.Api.Http;
using Streams.Api.Security;
using Streams.Api.Telemetry;

var flags = CommandLine.Read(args, Environment.GetEnvironmentVariable, out var problems, out var helpRequested);
if (helpRequested)
{
    CommandLine.WriteHelp(Console.Out);
    return 0;
}

if (problems.Count > 0)
{
    return Refuse(problems);
}

// Content root at the binary so appsettings.json is found wherever the server is started from;
// relative paths in settings (the data dir) still resolve against the working directory.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddInMemoryCollection(flags);
var options = ServerOptions.Bind(builder.Configuration.GetSection(ServerOptions.Section), problems);
if (options is null || !builder.Services.TryAddSecurity(options, problems))
{
    return Refuse(problems);
}

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Listen(System.Net.IPAddress.Parse(options.Host), options.Port);
    // Bodies are limited by the endpoints themselves so the error carries a JSON body.
    kestrel.Limits.MaxRequestBodySize = null;
    kestrel.AddServerHeader = false;
});

if (!Enum.TryParse<RestoreMode>(options.Restore, ignoreCase: true, out var restoreMode))
{
    Console.Error.WriteLine($"streams: restore mode must be none, eager or lazy, not '{options.Restore}'");
    return 2;
}

if (!TryObjectStore(options, out var s3, out var objectStoreProblem))
{
    Console.Error.WriteLine($"streams: {objectStoreProblem}");
    return 2;
}

var cluster = ClusterSetup.Build(options, sharedObjectStore: s3 is not null, restoreMode, out var clusterProblem);
if (clusterProblem is not null)
{
    return Refuse([clusterProblem]);
}

var hoconOverrides = HoconOverrides(options);
if (EngineSettingsProblem(hoconOverrides) is { } hoconProblem)
{
    return Refuse([hoconProblem]);
}

builder.Services.AddStreams(new StreamsEngineOptions
{
    DataDirectory = Path.GetFullPath(options.DataDir),
    HoconOverrides = hoconOverrides,
    S3 = s3,
    FileSystemObjectStoreDirectory = options.ObjectStoreDir is { } dir ? Path.GetFullPath(dir) : null,
    RestoreMode = restoreMode,
    AllowPrivateWebhooks = options.AllowPrivateWebhooks,
    Cluster = cluster,
    ActorLogsThroughHost = options.LogFormat == LogSetup.JsonFormat,
});
if (cluster is not null)
{
    // Forwarding to owners: long-lived (SSE, long-poll), so no client-side timeout; the request's own
    // cancellation ends a forwarded request when its client goes away.
    builder.Services.AddHttpClient<OwnerProxy>(client => client.Timeout = Timeout.InfiniteTimeSpan)
        .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false });
}

builder.Services.AddStreamsTelemetry();
builder.Logging.UseFormat(options.LogFormat);

var app = builder.Build();
app.UseMiddleware<RequestLogScope>();
app.UseMiddleware<UnhandledErrors>();
app.UseMiddleware<BrowserHeaders>();
app.UseMiddleware<ApiKeyAuthentication>();
app.UseMiddleware<ConcurrencyLimit>();
app.UseMiddleware<LiveReaderLimit>();
app.UseMiddleware<RestoreGate>();
if (cluster is not null)
{
    app.UseMiddleware<OwnerRouting>();
    if (cluster.HttpBaseUrl is null)
    {
        // The HTTP port was left to the operating system: advertise it once the listener has it.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var port = new Uri(app.Urls.First()).Port;
            app.Services.GetRequiredService<StreamsNode>().Advertise(ClusterSetup.HttpBaseUrl(cluster.PublicHost, port));
        });
    }
}

// HEAD too: load balancers and uptime checks often probe without a body.
app.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], (RestoreStatus restore) => restore.IsRestoring
    ? Results.Json(new HealthStatus("restoring", restore.Done + restore.Failed, restore.Total, restore.Failed), HealthJsonContext.Default.HealthStatus, statusCode: StatusCodes.Status503ServiceUnavailable)
    : Results.Json(new HealthStatus("ok", null, null, restore.Failed), HealthJsonContext.Default.HealthStatus));
app.MapReadiness();
app.MapSubscriptionEndpoints();
app.MapStreamEndpoints();
app.MapAdminEndpoints();
app.MapMetrics();
app.MapFallback((HttpContext context) =>
    ResultMapping.WriteAsync(context, Streams.Actors.Domain.ErrorCode.RouteNotFound, "no such endpoint"));
await app.RunAsync();
return 0;

// A configuration mistake is the operator's to fix: say what is wrong, no stack trace, exit code 2.
static int Refuse(IEnumerable<string> problems)
{
    foreach (var problem in problems)
    {
        Console.Error.WriteLine($"streams: {problem}");
    }

    return 2;
}

// The engine parses its settings while the host is built, where a value of the wrong type
// (--hocon "streams.ask-timeout = soon") would end in an unhandled exception; parse them first.
static string? EngineSettingsProblem(string hoconOverrides)
{
    try
    {
        Streams.Actors.Config.StreamsSettings.From(Akka.Configuration.ConfigurationFactory.ParseString(hoconOverrides));
        return null;
    }
    catch (Exception exception)
    {
        // Any failure here is a configuration mistake; its message names the value.
        return $"the engine settings (HOCON) are invalid: {exception.Message}";
    }
}

static string HoconOverrides(ServerOptions options)
{
    var lines = new List<string>();
    if (options.LongPollTimeoutMs is { } longPoll)
    {
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"streams.long-poll-timeout = {longPoll}ms"));
    }

    if (options.MaxAppendBytes is { } maxAppend)
    {
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"streams.max-append-bytes = {maxAppend}"));
    }

    if (options.SegmentTargetRows is { } targetRows)
    {
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"streams.segment.target-rows = {targetRows}"));
    }

    if (options.SegmentMaxAgeMs is { } maxAge)
    {
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"streams.segment.max-age = {maxAge}ms"));
    }

    if (options.RestoreParallelism is { } parallelism)
    {
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"streams.restore.parallelism = {parallelism}"));
    }

    foreach (var (key, limit) in new[]
    {
        ("concurrent-requests", options.MaxConcurrentRequests),
        ("live-readers-per-node", options.MaxLiveReaders),
        ("live-readers-per-stream", options.MaxLiveReadersPerStream),
    })
    {
        if (limit is { } value)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"streams.limits.{key} = {value}"));
        }
    }

    if (options.Hocon is { Length: > 0 } hocon)
    {
        lines.Add(hocon);
    }

    return string.Join('\n', lines);
}

static bool TryObjectStore(ServerOptions options, out Streams.Actors.ObjectStore.S3ObjectStoreOptions? s3, out string problem)
{
    s3 = null;
    problem = string.Empty;
    switch (options.ObjectStore.ToLowerInvariant())
    {
        case "local":
            return true;
        case "s3":
        case "r2":
            break;
        default:
            problem = $"--object-store must be local or s3, not '{options.ObjectStore}'";
            return false;
    }

    var endpoint = options.S3Endpoint
        ?? (options.R2AccountId is { Length: > 0 } account ? $"https://{account}.r2.cloudflarestorage.com" : null);
    var (accessKey, secretKey) = CommandLine.S3Credentials();
    if (endpoint is null || options.S3Bucket is null || accessKey is null || secretKey is null)
    {
        problem = "the s3 object store needs --s3-endpoint, --s3-bucket and the environment variables STREAMS_S3_ACCESS_KEY and STREAMS_S3_SECRET_KEY";
        return false;
    }

    s3 = new Streams.Actors.ObjectStore.S3ObjectStoreOptions
    {
        Endpoint = endpoint,
        Bucket = options.S3Bucket,
        Region = options.S3Region,
        KeyPrefix = options.S3Prefix,
        UsePathStyle = options.S3PathStyle,
        AccessKey = accessKey,
        SecretKey = secretKey,
    };
    return true;
}

internal sealed record HealthStatus(string Status, long? Restored, long? Total, long Quarantined);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthStatus))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Exposed so tests can host the real application.</summary>
public partial class Program;
