using System.Globalization;

namespace Streams.Bench.Cli;

/// <summary>
/// The flags of one subcommand: <c>--name value</c> or <c>--name=value</c>. Every flag read is
/// remembered so that a misspelt flag is reported instead of silently running with a default.
/// </summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);
    private readonly List<string> problems = [];

    public Arguments(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                problems.Add($"unexpected argument '{arg}'");
                continue;
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[arg[2..equals]] = arg[(equals + 1)..];
            }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                values[arg[2..]] = list[++i];
            }
            else
            {
                // A flag without a value is a switch.
                values[arg[2..]] = "true";
            }
        }
    }

    public string? String(string name)
    {
        read.Add(name);
        return values.TryGetValue(name, out var value) ? value : null;
    }

    public string String(string name, string fallback) => String(name) ?? fallback;

    public bool Switch(string name) => String(name) is { } value && value is "true" or "1" or "yes";

    public int Int(string name, int fallback, int minimum = int.MinValue)
    {
        if (String(name) is not { } text)
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= minimum)
        {
            return value;
        }

        problems.Add($"--{name} must be a whole number of at least {minimum}, not '{text}'");
        return fallback;
    }

    public IReadOnlyList<int> IntList(string name, IReadOnlyList<int> fallback, int minimum)
    {
        if (String(name) is not { } text)
        {
            return fallback;
        }

        var result = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                || value < minimum)
            {
                problems.Add($"--{name} must be a comma-separated list of whole numbers of at least {minimum}, not '{text}'");
                return fallback;
            }

            result.Add(value);
        }

        return result;
    }

    /// <summary>Problems found so far, plus every flag given that no one asked for.</summary>
    public IReadOnlyList<string> Problems()
    {
        var unknown = values.Keys.Where(key => !read.Contains(key)).Select(key => $"unknown option '--{key}'");
        return [.. problems, .. unknown];
    }
}
