using System.CommandLine;
using System.CommandLine.Parsing;

namespace Streams.Api;

/// <summary>
/// Turns the server's flags and environment variables into configuration keys. Accepts the
/// TypeScript original's names too, so its deploy scripts keep working. Arguments in the .NET
/// configuration style (<c>--Streams:Port=80</c>, and the generic host's <c>--environment=...</c>,
/// <c>--contentRoot=...</c>, <c>--applicationName=...</c>) pass through unchanged: that is how a
/// hosting environment such as the ASP.NET test host hands its settings to the entry point.
/// The flags themselves are parsed by <see cref="CommandLineSyntax"/>, the grammar the benchmark uses too.
/// </summary>
internal static class CommandLine
{
    private const string OptionPrefix = "--";
    private const string RestoreKey = "Streams:Restore";
    private const string LazyRestore = "lazy";

    /// <summary>A flag with a value, the key it sets and the line <c>--help</c> prints for it (docs/configuration.md says more).</summary>
    private sealed record ValueFlag(string Name, string Key, string ValueName, string Description)
    {
        public Option<string[]> Option { get; } = CommandLineSyntax.Value(Name, Description, ValueName);
    }

    /// <summary>A flag without a value: it sets a key to a fixed value.</summary>
    private sealed record SwitchFlag(string Name, string Key, string Value, string Description)
    {
        public Option<bool> Option { get; } = CommandLineSyntax.Switch(Name, Description);
    }

    private static readonly ValueFlag[] ValueFlags =
    [
        new("--host", "Streams:Host", "address", "IP address to listen on, as a literal (127.0.0.1, ::1, 0.0.0.0, ::) [default: 127.0.0.1]"),
        new("--port", "Streams:Port", "port", "TCP port, 0 to 65535; 0 lets the operating system choose [env: PORT] [default: 4437]"),
        new("--data-dir", "Streams:DataDir", "path", "the node's local state (SQLite WAL, segments, keys) [env: DS_ROOT] [default: ./data]"),
        new("--long-poll-timeout-ms", "Streams:LongPollTimeoutMs", "ms", "long-poll wait and SSE keep-alive interval [default: streams.long-poll-timeout]"),
        new("--max-append-bytes", "Streams:MaxAppendBytes", "bytes", "largest PUT/POST body; larger get 413 [default: streams.max-append-bytes]"),
        new("--segment-target-rows", "Streams:SegmentTargetRows", "rows", "seal a segment once this many records wait [env: DS_SEGMENT_TARGET_ROWS] [default: streams.segment.target-rows]"),
        new("--segment-max-age-ms", "Streams:SegmentMaxAgeMs", "ms", "or once the oldest waiting record is this old [default: streams.segment.max-age]"),
        new("--hocon", "Streams:Hocon", "hocon", "HOCON applied over streams.conf, e.g. 'streams.upload.parallelism = 16'"),
        new("--object-store", "Streams:ObjectStore", "local|s3", "local (a directory) or s3 (any S3-compatible service; r2 is an alias) [default: local]"),
        new("--object-store-dir", "Streams:ObjectStoreDir", "path", "root of the local object store [default: <data dir>/objects]"),
        new("--s3-endpoint", "Streams:S3Endpoint", "url", "http(s)://host:port of the S3 service [env: DURABLE_STREAMS_R2_ENDPOINT]"),
        new("--s3-bucket", "Streams:S3Bucket", "name", "bucket; created at start-up if missing [env: DURABLE_STREAMS_R2_BUCKET]"),
        new("--s3-region", "Streams:S3Region", "region", "signing region (auto for R2) [env: DURABLE_STREAMS_R2_REGION] [default: us-east-1]"),
        new("--s3-prefix", "Streams:S3Prefix", "prefix", "key prefix for everything this deployment stores"),
        new("--s3-path-style", "Streams:S3PathStyle", "true", "path-style requests; must stay true [default: true]"),
        new("--restore-parallelism", "Streams:RestoreParallelism", "count", "streams restored at once by an eager restore [default: streams.restore.parallelism]"),
        new("--auth-strategy", "Streams:AuthStrategy", "api-key", "api-key: every request needs 'Authorization: Bearer <key>' (the key from the environment variable API_KEY)"),
        new("--api-key-file", "Streams:ApiKeyFile", "path", "JSON file of scoped keys, reloaded on change and on SIGHUP; needs --auth-strategy api-key [env: STREAMS_API_KEY_FILE]"),
        new("--cors-origins", "Streams:CorsOrigins", "origins", "comma-separated browser origins allowed by CORS, or * [default: * without auth, none with it]"),
        new("--log-format", "Streams:LogFormat", "text|json", "json: one JSON object per console line [default: text]"),
        new("--max-concurrent-requests", "Streams:MaxConcurrentRequests", "count", "requests handled at once; more get 503 [default: streams.limits.concurrent-requests]"),
        new("--max-live-readers", "Streams:MaxLiveReaders", "count", "open long-poll and SSE requests on the node [default: streams.limits.live-readers-per-node]"),
        new("--max-live-readers-per-stream", "Streams:MaxLiveReadersPerStream", "count", "open long-poll and SSE requests on one stream [default: streams.limits.live-readers-per-stream]"),
        new("--cluster-seed-nodes", "Streams:ClusterSeedNodes", "addresses", "comma-separated akka.tcp://streams@host:port nodes to join; turns cluster mode on [env: STREAMS_CLUSTER_SEED_NODES]"),
        new("--cluster-host", "Streams:ClusterHost", "name", "the name other nodes reach this one by [env: STREAMS_CLUSTER_HOST] [default: --host, or the machine name for 0.0.0.0/::]"),
        new("--cluster-port", "Streams:ClusterPort", "port", "remoting port, 0 to 65535; turns cluster mode on [env: STREAMS_CLUSTER_PORT]"),
        new("--cluster-role", "Streams:ClusterRole", "role", "this node's cluster role; when set, streams live only on nodes with it [env: STREAMS_CLUSTER_ROLE]"),
    ];

    private static readonly SwitchFlag[] SwitchFlags =
    [
        new("--lazy-restore", RestoreKey, LazyRestore, "serve at once, fetch a stream from the object store on its first touch; wins over an eager flag [env: DS_LAZY_RESTORE=1]"),
        new("--bootstrap-from-object-store", RestoreKey, "eager", "rebuild every stream from the object store before serving"),
        new("--bootstrap-from-r2", RestoreKey, "eager", "the same as --bootstrap-from-object-store"),
        new("--no-auth", "Streams:AuthStrategy", "none", "no authentication, also on an address that is not loopback"),
        new("--health-requires-auth", "Streams:HealthRequiresAuth", "true", "put /health and /ready behind auth too"),
        new("--allow-private-webhooks", "Streams:AllowPrivateWebhooks", "true", "webhooks may deliver to loopback and private addresses [env: DS_ALLOW_PRIVATE_WEBHOOKS=1]"),
    ];

    /// <summary>The server's command: every flag, as <c>--help</c> lists them.</summary>
    private static readonly RootCommand Command = CreateCommand();

    /// <summary>Environment variables (ours and the original's), mapped to our keys. Secrets are read elsewhere.</summary>
    private static readonly Dictionary<string, string> EnvironmentAliases = new(StringComparer.Ordinal)
    {
        ["DS_ROOT"] = "Streams:DataDir",
        ["PORT"] = "Streams:Port",
        ["DS_SEGMENT_TARGET_ROWS"] = "Streams:SegmentTargetRows",
        ["DURABLE_STREAMS_R2_BUCKET"] = "Streams:S3Bucket",
        ["DURABLE_STREAMS_R2_ENDPOINT"] = "Streams:S3Endpoint",
        ["DURABLE_STREAMS_R2_REGION"] = "Streams:S3Region",
        ["DURABLE_STREAMS_R2_ACCOUNT_ID"] = "Streams:R2AccountId",
        ["STREAMS_API_KEY_FILE"] = "Streams:ApiKeyFile",
        ["STREAMS_CLUSTER_SEED_NODES"] = "Streams:ClusterSeedNodes",
        ["STREAMS_CLUSTER_HOST"] = "Streams:ClusterHost",
        ["STREAMS_CLUSTER_PORT"] = "Streams:ClusterPort",
        ["STREAMS_CLUSTER_ROLE"] = "Streams:ClusterRole",
    };

    /// <summary>Settings of the generic host itself, passed as <c>--key=value</c> by hosting environments.</summary>
    private static readonly HashSet<string> HostKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "environment",
        "contentRoot",
        "applicationName",
    };

    public static Dictionary<string, string?> Parse(string[] args, out List<string> problems) =>
        Parse(args, Environment.GetEnvironmentVariable, out problems);

    /// <summary>As <see cref="Parse(string[], out List{string})"/>, reading the environment through <paramref name="environment"/>.</summary>
    public static Dictionary<string, string?> Parse(string[] args, Func<string, string?> environment, out List<string> problems) =>
        Read(args, environment, out problems, out _);

    /// <summary>
    /// The configuration keys given by the environment aliases and <paramref name="args"/>, the problems
    /// found in them, and whether <c>--help</c> was asked for (then the problems do not matter).
    /// </summary>
    public static Dictionary<string, string?> Read(string[] args, Func<string, string?> environment, out List<string> problems, out bool helpRequested)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in EnvironmentAliases)
        {
            if (environment(variable) is { Length: > 0 } value)
            {
                values[key] = value;
            }
        }

        // DS_LAZY_RESTORE is the environment's --lazy-restore, and wins over an eager flag the same way.
        var lazyRequested = environment("DS_LAZY_RESTORE") is "1" or "true";
        if (lazyRequested)
        {
            values[RestoreKey] = LazyRestore;
        }

        // DS_ALLOW_PRIVATE_WEBHOOKS=1 is the environment's --allow-private-webhooks.
        if (environment("DS_ALLOW_PRIVATE_WEBHOOKS") is "1" or "true")
        {
            values["Streams:AllowPrivateWebhooks"] = "true";
        }

        // Configuration paths and host keys are the host's business, not flags of ours: they go
        // straight to configuration, and the parser sees only the rest.
        var flags = new List<string>();
        foreach (var arg in args)
        {
            var equals = arg.IndexOf('=');
            if (equals > 0 && IsPassThrough(args, arg[..equals], arg[(equals + 1)..]))
            {
                // An empty value carries no setting; hosts send one for every section name.
                if (equals + 1 < arg.Length)
                {
                    values[arg[OptionPrefix.Length..equals]] = arg[(equals + 1)..];
                }

                continue;
            }

            flags.Add(arg);
        }

        var result = CommandLineSyntax.Parse(Command, flags);
        helpRequested = CommandLineSyntax.HelpRequested(result);
        problems = CommandLineSyntax.Problems(result);
        // In the order the flags were given, so that of --auth-strategy and --no-auth the later one wins.
        foreach (var given in result.CommandResult.Children.OfType<OptionResult>().Where(given => !given.Implicit))
        {
            if (ValueFlags.FirstOrDefault(flag => flag.Option == given.Option) is { } valueFlag)
            {
                if (CommandLineSyntax.LastValue(result, valueFlag.Option) is { } value)
                {
                    values[valueFlag.Key] = value;
                }
            }
            else if (SwitchFlags.FirstOrDefault(flag => flag.Option == given.Option) is { } switchFlag)
            {
                // --lazy-restore wins over an eager flag, whatever the order (as in the original).
                lazyRequested |= switchFlag.Value == LazyRestore;
                values[switchFlag.Key] = lazyRequested && switchFlag.Key == RestoreKey ? LazyRestore : switchFlag.Value;
            }
        }

        return values;
    }

    /// <summary>Writes the usage and every flag with its description.</summary>
    public static void WriteHelp(TextWriter output) => CommandLineSyntax.WriteHelp(Command, output);

    /// <summary>S3 credentials: only from the environment, never from flags or files in the repo.</summary>
    public static (string? AccessKey, string? SecretKey) S3Credentials() =>
        (FirstSet("STREAMS_S3_ACCESS_KEY", "DURABLE_STREAMS_R2_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
         FirstSet("STREAMS_S3_SECRET_KEY", "DURABLE_STREAMS_R2_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"));

    private static RootCommand CreateCommand()
    {
        var command = CommandLineSyntax.Root(
            "Streams, a Durable Streams server. Every flag is also a configuration key (Streams:Port for --port), "
            + "settable in appsettings.json or the environment (Streams__Port); see docs/configuration.md.");
        foreach (var flag in ValueFlags)
        {
            command.Options.Add(flag.Option);
        }

        foreach (var flag in SwitchFlags)
        {
            command.Options.Add(flag.Option);
        }

        return command;
    }

    private static string? FirstSet(params string[] variables) =>
        variables.Select(Environment.GetEnvironmentVariable).FirstOrDefault(value => !string.IsNullOrEmpty(value));

    /// <summary>
    /// A configuration path (<c>--Section:Key=value</c>), a generic host key, or a section name with an
    /// empty value (<c>--Streams=</c>), which a host emits for the parent of a path it also passes.
    /// </summary>
    private static bool IsPassThrough(string[] args, string flag, string value)
    {
        if (!flag.StartsWith(OptionPrefix, StringComparison.Ordinal) || flag.Length == OptionPrefix.Length)
        {
            return false;
        }

        var name = flag[OptionPrefix.Length..];
        if (name.Contains(':', StringComparison.Ordinal) || HostKeys.Contains(name))
        {
            return true;
        }

        var childPrefix = $"{flag}:";
        return value.Length == 0 && args.Any(other => other.StartsWith(childPrefix, StringComparison.OrdinalIgnoreCase));
    }
}
