using System.Net;

namespace Streams.Api;

/// <summary>Deployment settings: bound from appsettings, environment variables and command-line flags.</summary>
public sealed class ServerOptions
{
    public const string Section = "Streams";

    private const int MaxPort = 65535;

    /// <summary>An IP address literal to listen on (127.0.0.1, ::1, 0.0.0.0, ::); names are not resolved.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the operating system choose one.</summary>
    public int Port { get; set; } = 4437;

    public string DataDir { get; set; } = "./data";

    /// <summary>Overrides <c>streams.long-poll-timeout</c>; tests use a short one.</summary>
    public int? LongPollTimeoutMs { get; set; }

    /// <summary>Overrides <c>streams.max-append-bytes</c>.</summary>
    public long? MaxAppendBytes { get; set; }

    /// <summary>Overrides <c>streams.segment.target-rows</c>.</summary>
    public int? SegmentTargetRows { get; set; }

    /// <summary>Overrides <c>streams.segment.max-age</c>.</summary>
    public int? SegmentMaxAgeMs { get; set; }

    /// <summary>Extra HOCON applied over the embedded defaults, e.g. <c>streams.upload.parallelism = 16</c>.</summary>
    public string? Hocon { get; set; }

    /// <summary><c>local</c> (a directory, the default) or <c>s3</c> (any S3-compatible service; alias <c>r2</c>).</summary>
    public string ObjectStore { get; set; } = "local";

    /// <summary>Root of the local object store; defaults to <c>objects/</c> under the data directory.</summary>
    public string? ObjectStoreDir { get; set; }

    public string? S3Endpoint { get; set; }

    public string? S3Bucket { get; set; }

    public string S3Region { get; set; } = "us-east-1";

    public string? S3Prefix { get; set; }

    public bool S3PathStyle { get; set; } = true;

    /// <summary>Cloudflare account id: gives the R2 endpoint when no endpoint is set.</summary>
    public string? R2AccountId { get; set; }

    /// <summary><c>none</c> (serve what the local disk has), <c>eager</c> or <c>lazy</c>.</summary>
    public string Restore { get; set; } = "none";

    /// <summary>Webhooks may go to loopback and private addresses (tests, private networks); never link-local or metadata.</summary>
    public bool AllowPrivateWebhooks { get; set; }

    /// <summary>Streams restored at once by the eager bootstrap.</summary>
    public int? RestoreParallelism { get; set; }

    /// <summary><c>api-key</c> or <c>none</c>; unset means none, allowed only on a loopback address.</summary>
    public string? AuthStrategy { get; set; }

    /// <summary>A JSON file of additional, scoped API keys (docs/security.md); reloaded on SIGHUP or change.</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>Whether <c>/health</c> and <c>/ready</c> need a key too (default: they are open to probes).</summary>
    public bool HealthRequiresAuth { get; set; }

    /// <summary>Comma-separated browser origins allowed by CORS, or <c>*</c>; default <c>*</c> without auth, none with it.</summary>
    public string? CorsOrigins { get; set; }

    /// <summary><c>text</c> (the default) or <c>json</c>: one JSON object per console log line.</summary>
    public string LogFormat { get; set; } = "text";

    /// <summary>Overrides <c>streams.limits.concurrent-requests</c>.</summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>Overrides <c>streams.limits.live-readers-per-node</c>.</summary>
    public int? MaxLiveReaders { get; set; }

    /// <summary>Overrides <c>streams.limits.live-readers-per-stream</c>.</summary>
    public int? MaxLiveReadersPerStream { get; set; }

    /// <summary>Comma-separated <c>akka.tcp://streams@host:port</c> addresses of the nodes to join; turns cluster mode on.</summary>
    public string? ClusterSeedNodes { get; set; }

    /// <summary>The name other nodes reach this one by (remoting and HTTP); defaults to --host, or the machine name when that is 0.0.0.0/::.</summary>
    public string? ClusterHost { get; set; }

    /// <summary>The remoting port; turns cluster mode on (0: chosen by the operating system).</summary>
    public int? ClusterPort { get; set; }

    /// <summary>A cluster role this node has; when set, only nodes with this role host streams.</summary>
    public string? ClusterRole { get; set; }

    /// <summary>Cluster mode is on when seed nodes or a remoting port are given.</summary>
    public bool Clustered => !string.IsNullOrWhiteSpace(ClusterSeedNodes) || ClusterPort is not null;

    /// <summary>
    /// Binds and checks the section; null (with <paramref name="problems"/> filled in) when a value
    /// cannot be converted or is out of range, so the server refuses to start with a clear message.
    /// </summary>
    public static ServerOptions? Bind(IConfiguration section, List<string> problems)
    {
        ServerOptions options;
        try
        {
            options = section.Get<ServerOptions>() ?? new ServerOptions();
        }
        catch (InvalidOperationException exception)
        {
            // The binder names the key and the value it could not convert.
            problems.Add(exception.Message);
            return null;
        }

        problems.AddRange(options.Validate());
        return problems.Count == 0 ? options : null;
    }

    public IEnumerable<string> Validate()
    {
        if (!IPAddress.TryParse(Host, out _))
        {
            yield return $"{Section}:Host '{Host}' is not an IP address (for example 127.0.0.1, ::1 or 0.0.0.0)";
        }

        if (Port is < 0 or > MaxPort)
        {
            yield return $"{Section}:Port {Port} is not a TCP port (0 to {MaxPort})";
        }

        if (AuthStrategy is not (null or "none" or "api-key"))
        {
            yield return $"--auth-strategy must be api-key (or --no-auth), not '{AuthStrategy}'";
        }
        else if (AuthStrategy is null && IPAddress.TryParse(Host, out var address) && !IPAddress.IsLoopback(address))
        {
            // Reachable from other machines: the operator must say whether that is meant to be open.
            yield return $"listening on {Host} (not a loopback address) needs --auth-strategy api-key or an explicit --no-auth";
        }

        if (ApiKeyFile is not null && AuthStrategy != "api-key")
        {
            yield return "--api-key-file needs --auth-strategy api-key";
        }

        if (LogFormat is not ("text" or "json"))
        {
            yield return $"--log-format must be text or json, not '{LogFormat}'";
        }

        if (ClusterPort is < 0 or > MaxPort)
        {
            yield return $"{Section}:ClusterPort {ClusterPort} is not a TCP port (0 to {MaxPort})";
        }

        foreach (var seed in SeedNodeList())
        {
            if (!Uri.TryCreate(seed, UriKind.Absolute, out var uri) || uri.Scheme != "akka.tcp" || uri.Port <= 0 || string.IsNullOrEmpty(uri.UserInfo))
            {
                yield return $"{Section}:ClusterSeedNodes entry '{seed}' is not an address like akka.tcp://streams@host:port";
            }
        }

        if (string.IsNullOrWhiteSpace(DataDir))
        {
            yield return $"{Section}:DataDir is empty";
        }

        foreach (var (key, value) in new (string, long?)[]
        {
            (nameof(LongPollTimeoutMs), LongPollTimeoutMs),
            (nameof(MaxAppendBytes), MaxAppendBytes),
            (nameof(SegmentTargetRows), SegmentTargetRows),
            (nameof(SegmentMaxAgeMs), SegmentMaxAgeMs),
            (nameof(RestoreParallelism), RestoreParallelism),
            (nameof(MaxConcurrentRequests), MaxConcurrentRequests),
            (nameof(MaxLiveReaders), MaxLiveReaders),
            (nameof(MaxLiveReadersPerStream), MaxLiveReadersPerStream),
        })
        {
            if (value is <= 0)
            {
                yield return $"{Section}:{key} must be positive, not {value}";
            }
        }
    }

    /// <summary>The seed nodes, one address each, blanks dropped.</summary>
    public IReadOnlyList<string> SeedNodeList() =>
        ClusterSeedNodes is { Length: > 0 } seeds
            ? [.. seeds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : [];
}
