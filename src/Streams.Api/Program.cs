using System.Globalization;
using Streams.Actors.Hosting;
using Streams.Api;
using Streams.Api.Endpoints;
using Streams.Api.Http;

var flags = CommandLine.Parse(args, out var problems);
if (problems.Count > 0)
{
    return Refuse(problems);
}

// Content root at the binary so appsettings.json is found wherever the server is started from;
// relative paths in settings (the data dir) still resolve against the working directory. A host
// that passes --contentRoot/--environment (WebApplicationFactory does) gets what it asked for.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    ContentRootPath = flags.GetValueOrDefault(CommandLine.ContentRootKey) ?? AppContext.BaseDirectory,
    EnvironmentName = flags.GetValueOrDefault(CommandLine.EnvironmentKey),
    ApplicationName = flags.GetValueOrDefault(CommandLine.ApplicationNameKey),
});
builder.Configuration.AddInMemoryCollection(flags);
var options = ServerOptions.Bind(builder.Configuration.GetSection(ServerOptions.Section), problems);
if (options is null)
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

builder.Services.AddStreams(new StreamsEngineOptions
{
    DataDirectory = Path.GetFullPath(options.DataDir),
    HoconOverrides = HoconOverrides(options),
});

var app = builder.Build();
app.UseMiddleware<UnhandledErrors>();
app.UseMiddleware<BrowserHeaders>();
// HEAD too: load balancers and uptime checks often probe without a body.
app.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], () => Results.Json(new HealthStatus("ok"), HealthJsonContext.Default.HealthStatus));
app.MapStreamEndpoints();
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

    return string.Join('\n', lines);
}

internal sealed record HealthStatus(string Status);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthStatus))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Exposed so tests can host the real application.</summary>
public partial class Program;
