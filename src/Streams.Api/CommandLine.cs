namespace Streams.Api;

/// <summary>
/// Turns the server's flags into configuration keys. Accepts the TypeScript original's names too, so
/// its deploy scripts keep working.
/// </summary>
internal static class CommandLine
{
    private static readonly Dictionary<string, string> Flags = new(StringComparer.OrdinalIgnoreCase)
    {
        ["--host"] = "Streams:Host",
        ["--port"] = "Streams:Port",
        ["--data-dir"] = "Streams:DataDir",
        ["--long-poll-timeout-ms"] = "Streams:LongPollTimeoutMs",
        ["--max-append-bytes"] = "Streams:MaxAppendBytes",
    };

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
                problems.Add($"unknown option '{flag}'");
                continue;
            }

            if (equals > 0)
            {
                values[key] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Length)
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
}
