namespace Streams.Api;

/// <summary>
/// Turns the server's flags and environment variables into configuration keys. Accepts the
/// TypeScript original's names too, so its deploy scripts keep working. Arguments in the .NET
/// configuration style (<c>--Streams:Port=80</c>, and the generic host's <c>--environment=...</c>,
/// <c>--contentRoot=...</c>, <c>--applicationName=...</c>) pass through unchanged: that is how a
/// hosting environment such as the ASP.NET test host hands its settings to the entry point.
/// </summary>
internal static class CommandLine
{
    private const string OptionPrefix = "--";
    private const string RestoreKey = "Streams:Restore";

    private static readonly Dictionary<string, string> Flags = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--host"] = "Streams:Host",
        ["--port"] = "Streams:Port",
        ["--data-dir"] = "Streams:DataDir",
        ["--long-poll-timeout-ms"] = "Streams:LongPollTimeoutMs",
        ["--max-append-bytes"] = "Streams:MaxAppendBytes",
        ["--segment-target-rows"] = "Streams:SegmentTargetRows",
        ["--segment-max-age-ms"] = "Streams:SegmentMaxAgeMs",
        ["--hocon"] = "Streams:Hocon",
        ["--object-store"] = "Streams:ObjectStore",
        ["--object-store-dir"] = "Streams:ObjectStoreDir",
        ["--s3-endpoint"] = "Streams:S3Endpoint",
        ["--s3-bucket"] = "Streams:S3Bucket",
        ["--s3-region"] = "Streams:S3Region",
        ["--s3-prefix"] = "Streams:S3Prefix",
        ["--s3-path-style"] = "Streams:S3PathStyle",
        ["--restore-parallelism"] = "Streams:RestoreParallelism",
        ["--auth-strategy"] = "Streams:AuthStrategy",
        ["--api-key-file"] = "Streams:ApiKeyFile",
        ["--cors-origins"] = "Streams:CorsOrigins",
        ["--log-format"] = "Streams:LogFormat",
        ["--max-concurrent-requests"] = "Streams:MaxConcurrentRequests",
        ["--max-live-readers"] = "Streams:MaxLiveReaders",
        ["--max-live-readers-per-stream"] = "Streams:MaxLiveReadersPerStream",
        ["--cluster-seed-nodes"] = "Streams:ClusterSeedNodes",
        ["--cluster-host"] = "Streams:ClusterHost",
        ["--cluster-port"] = "Streams:ClusterPort",
        ["--cluster-role"] = "Streams:ClusterRole",
    };

    /// <summary>Flags without a value: each sets a key to a fixed value.</summary>
    private static readonly Dictionary<string, (string Key, string Value)> Switches = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--lazy-restore"] = ("Streams:Restore", "lazy"),
        ["--bootstrap-from-object-store"] = ("Streams:Restore", "eager"),
        ["--bootstrap-from-r2"] = ("Streams:Restore", "eager"),
        ["--no-auth"] = ("Streams:AuthStrategy", "none"),
        ["--health-requires-auth"] = ("Streams:HealthRequiresAuth", "true"),
        ["--allow-private-webhooks"] = ("Streams:AllowPrivateWebhooks", "true"),
    };

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
    public static Dictionary<string, string?> Parse(string[] args, Func<string, string?> environment, out List<string> problems)
    {
        problems = [];
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
            values["Streams:Restore"] = "lazy";
        }

        // DS_ALLOW_PRIVATE_WEBHOOKS=1 is the environment's --allow-private-webhooks.
        if (environment("DS_ALLOW_PRIVATE_WEBHOOKS") is "1" or "true")
        {
            values["Streams:AllowPrivateWebhooks"] = "true";
        }

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=');
            var flag = equals > 0 ? arg[..equals] : arg;
            if (Switches.TryGetValue(flag, out var switched))
            {
                // --lazy-restore wins over an eager flag, whatever the order (as in the original).
                lazyRequested |= switched.Value == "lazy";
                values[switched.Key] = lazyRequested && switched.Key == RestoreKey ? "lazy" : switched.Value;
                continue;
            }

            if (!Flags.TryGetValue(flag, out var key))
            {
                var passedValue = equals > 0 ? arg[(equals + 1)..] : null;
                if (passedValue is not null && IsPassThrough(args, flag, passedValue))
                {
                    // An empty value carries no setting; hosts send one for every section name.
                    if (passedValue.Length > 0)
                    {
                        values[flag[OptionPrefix.Length..]] = passedValue;
                    }

                    continue;
                }

                problems.Add($"unknown option '{flag}'");
                continue;
            }

            if (equals > 0)
            {
                values[key] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith(OptionPrefix, StringComparison.Ordinal))
            {
                // "--port --data-dir x" is a forgotten value, not a port named "--data-dir".
                values[key] = args[++i];
            }
            else
            {
                problems.Add($"option '{flag}' needs a value");
            }
        }

        return values;
    }

    /// <summary>S3 credentials: only from the environment, never from flags or files in the repo.</summary>
    public static (string? AccessKey, string? SecretKey) S3Credentials() =>
        (FirstSet("STREAMS_S3_ACCESS_KEY", "DURABLE_STREAMS_R2_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
         FirstSet("STREAMS_S3_SECRET_KEY", "DURABLE_STREAMS_R2_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"));

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
