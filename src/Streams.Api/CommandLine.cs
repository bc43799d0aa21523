namespace Streams.Api;

/// <summary>
/// Turns the server's flags into configuration keys. Accepts the TypeScript original's names too, so
/// its deploy scripts keep working.
/// </summary>
internal static class CommandLine
{
    /// <summary>Host settings (the keys of <c>WebHostDefaults</c>), accepted as <c>--key=value</c>.</summary>
    public const string EnvironmentKey = "environment";
    public const string ContentRootKey = "contentRoot";
    public const string ApplicationNameKey = "applicationName";

    private static readonly Dictionary<string, string> Flags = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--host"] = "Streams:Host",
        ["--port"] = "Streams:Port",
        ["--data-dir"] = "Streams:DataDir",
        ["--long-poll-timeout-ms"] = "Streams:LongPollTimeoutMs",
        ["--max-append-bytes"] = "Streams:MaxAppendBytes",
    };

    private static readonly HashSet<string> HostKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        EnvironmentKey,
        ContentRootKey,
        ApplicationNameKey,
    };

    /// <summary>Configuration sections that may be set directly as <c>--Section:Key=value</c>.</summary>
    private static readonly string[] ConfigurationRoots = ["Streams", "Logging"];

    /// <summary>Environment variables of the original, mapped to our keys.</summary>
    private static readonly Dictionary<string, string> EnvironmentAliases = new(StringComparer.Ordinal)
    {
        ["DS_ROOT"] = "Streams:DataDir",
        ["PORT"] = "Streams:Port",
    };

    public static Dictionary<string, string?> Parse(string[] args, out List<string> problems)
    {
        problems = [];
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (variable, key) in EnvironmentAliases)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                values[key] = value;
            }
        }

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=');
            var flag = equals > 0 ? arg[..equals] : arg;
            if (!Flags.TryGetValue(flag, out var key))
            {
                // The .NET convention "--Section:Key=value" (and the host's own keys) for settings
                // without a flag of their own; anything else is a typo worth refusing.
                if (equals > 0 && flag.StartsWith("--", StringComparison.Ordinal) && IsConfigurationKey(flag[2..]))
                {
                    values[flag[2..]] = arg[(equals + 1)..];
                }
                else
                {
                    problems.Add($"unknown option '{flag}'");
                }

                continue;
            }

            if (equals > 0)
            {
                values[key] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                values[key] = args[++i];
            }
            else
            {
                problems.Add($"option '{flag}' needs a value");
            }
        }

        return values;
    }

    private static bool IsConfigurationKey(string name) =>
        HostKeys.Contains(name) ||
        ConfigurationRoots.Any(root =>
            name.Equals(root, StringComparison.OrdinalIgnoreCase) ||
            name.StartsWith(root + ":", StringComparison.OrdinalIgnoreCase));
}
