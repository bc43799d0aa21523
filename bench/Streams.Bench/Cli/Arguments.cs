using System.CommandLine;
using System.Globalization;
using Streams.Api;

namespace Streams.Bench.Cli;

/// <summary>
/// The flags of one subcommand, as parsed by the server's grammar (<see cref="CommandLineSyntax"/>)
/// against the declarations in <see cref="Usage"/>: a flag not declared there is an unknown option,
/// and a command asking for one is a mistake in the benchmark itself.
/// </summary>
public sealed class Arguments
{
    private const string OptionPrefix = "--";

    private readonly ParseResult result;
    private readonly List<string> problems;

    public Arguments(ParseResult result)
    {
        this.result = result;
        problems = CommandLineSyntax.Problems(result);
    }

    public string? String(string name) => CommandLineSyntax.LastValue(result, Declared<string[]>(name));

    public string String(string name, string fallback) => String(name) ?? fallback;

    public bool Switch(string name) => CommandLineSyntax.IsSet(result, Declared<bool>(name));

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

    /// <summary>Problems found by the parser and by the conversions so far.</summary>
    public IReadOnlyList<string> Problems() => problems;

    private Option<T> Declared<T>(string name)
    {
        var command = result.CommandResult.Command;
        return command.Options.OfType<Option<T>>().SingleOrDefault(option => option.Name == OptionPrefix + name)
            ?? throw new InvalidOperationException($"{command.Name} reads --{name}, which Usage does not declare");
    }
}
