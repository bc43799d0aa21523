using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace Streams.Api;

/// <summary>
/// The one command-line grammar of this repository: the server (<see cref="CommandLine"/>) and the
/// benchmark both declare their flags here and parse them with System.CommandLine.
/// </summary>
/// <remarks>
/// System.CommandLine rather than the configuration's command-line switch mappings: the switch
/// mappings take any <c>--key value</c> pair without complaint, know no flag without a value and
/// write no help, so unknown flags, missing values and <c>--help</c> would all stay hand-written.
/// System.CommandLine declares each flag once, with the text <c>--help</c> prints, and reports the
/// tokens it could not place. What it does differently from the grammar the server has always
/// documented (docs/configuration.md) is set here, in one place:
/// <list type="bullet">
/// <item>A value flag is never greedy: <c>--port --host x</c> leaves <c>--port</c> without a value
/// (an error) instead of taking <c>--host</c> as the port, and a value that starts with <c>--</c> is
/// an unknown flag, not a value.</item>
/// <item>A repeated flag is not an error: the last value wins, as in a configuration file.</item>
/// <item>Flag names ignore case; response files (<c>@file</c>), directives (<c>[diagram]</c>),
/// <c>--version</c> and bundled short options are off, so those arguments stay unknown options.</item>
/// <item>Problems are worded as the server has always worded them (<c>unknown option '--x'</c>,
/// <c>option '--port' needs a value</c>), since scripts and tests match on them.</item>
/// </list>
/// </remarks>
public static class CommandLineSyntax
{
    private const string OptionPrefix = "--";
    private const char ValueSeparator = '=';
    private const string HelpFlag = "--help";
    private const string EndOfFlags = "--";

    private static readonly ParserConfiguration Configuration = new()
    {
        EnablePosixBundling = false,
        // "@file" is an unknown option, not a file to expand: arguments mean what they say.
        ResponseFileTokenReplacer = null,
    };

    /// <summary>A flag with one value: <c>--name value</c> or <c>--name=value</c>; repeated, the last one wins.</summary>
    public static Option<string[]> Value(string name, string description, string valueName = "value") => new(name)
    {
        Description = description,
        HelpName = valueName,
        // Zero or more, one per occurrence: a flag without a value is reported by Problems (not taken
        // from the next flag, which a required value would do), and a repeated flag keeps each value.
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>A flag without a value.</summary>
    public static Option<bool> Switch(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.Zero,
    };

    /// <summary>A root command with only the help flag added: no <c>--version</c>, no directives.</summary>
    public static RootCommand Root(string description)
    {
        var root = new RootCommand(description);
        foreach (var option in root.Options.Where(option => option is not HelpOption).ToList())
        {
            root.Options.Remove(option);
        }

        root.Directives.Clear();
        return root;
    }

    /// <summary>Parses <paramref name="args"/> against <paramref name="root"/>, with flag names matched regardless of case.</summary>
    public static ParseResult Parse(RootCommand root, IReadOnlyList<string> args) =>
        root.Parse(WithCanonicalNames(root, args), Configuration);

    /// <summary>The value the flag was given last, or null when it was not given (or given without a value).</summary>
    public static string? LastValue(ParseResult result, Option<string[]> option) =>
        result.GetResult(option) is { } optionResult ? Values(optionResult).LastOrDefault() : null;

    /// <summary>Whether a switch was given.</summary>
    public static bool IsSet(ParseResult result, Option<bool> option) =>
        result.GetResult(option) is { Implicit: false };

    /// <summary>Whether <c>--help</c> (or <c>-h</c>, <c>-?</c>) was given: show the help, nothing else.</summary>
    public static bool HelpRequested(ParseResult result) => result.Action is HelpAction;

    /// <summary>Writes the help of <paramref name="root"/>, or of its subcommand <paramref name="subcommand"/>: usage and every flag with its description.</summary>
    public static void WriteHelp(RootCommand root, TextWriter output, string? subcommand = null) =>
        root.Parse(subcommand is null ? [HelpFlag] : [subcommand, HelpFlag], Configuration)
            .Invoke(new InvocationConfiguration { Output = output });

    /// <summary>What is wrong with the command line, in the order of the flags, then the unplaced tokens.</summary>
    public static List<string> Problems(ParseResult result)
    {
        var problems = new List<string>();
        foreach (var optionResult in result.CommandResult.Children.OfType<OptionResult>())
        {
            if (optionResult.Implicit || optionResult.Option is not Option<string[]>)
            {
                continue;
            }

            var taken = optionResult.Tokens.Select(token => token.Value).ToList();
            var missing = optionResult.IdentifierTokenCount - Values(optionResult).Count();
            for (var i = 0; i < missing; i++)
            {
                problems.Add($"option '{optionResult.Option.Name}' needs a value");
            }

            // "--data-dir --unknown": the unknown flag was taken as the value; it is a flag all the same.
            problems.AddRange(taken.Where(IsFlagLike).Select(UnknownOption));
        }

        // A leading "[word]" is taken for a directive, and dropped when none is declared: it is unknown all the same.
        problems.AddRange(result.Tokens.Where(token => token.Type == TokenType.Directive).Select(token => UnknownOption(token.Value)));
        problems.AddRange(result.UnmatchedTokens.Select(UnknownOption));
        // The errors of a command are the unmatched tokens, worded above, or a missing subcommand, which
        // the caller checks first; those of an option or argument (a custom parser's) are kept in its words.
        problems.AddRange(result.Errors.Where(error => error.SymbolResult is not CommandResult).Select(error => error.Message));
        return problems;
    }

    private static IEnumerable<string> Values(OptionResult optionResult) =>
        optionResult.Tokens.Select(token => token.Value).Where(value => !IsFlagLike(value));

    private static bool IsFlagLike(string value) => value.StartsWith(OptionPrefix, StringComparison.Ordinal);

    private static string UnknownOption(string token)
    {
        var separator = token.IndexOf(ValueSeparator);
        return $"unknown option '{(separator > 0 ? token[..separator] : token)}'";
    }

    /// <summary>Rewrites each flag name to its declared spelling: System.CommandLine matches names exactly.</summary>
    private static List<string> WithCanonicalNames(RootCommand root, IReadOnlyList<string> args)
    {
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var command in Commands(root))
        {
            foreach (var option in command.Options)
            {
                names.TryAdd(option.Name, option.Name);
            }
        }

        var canonical = new List<string>(args.Count);
        var endOfFlags = false;
        foreach (var arg in args)
        {
            // After "--" everything is an argument, passed on as it came (the benchmark's served child).
            endOfFlags |= arg == EndOfFlags;
            var separator = arg.IndexOf(ValueSeparator);
            var name = separator > 0 ? arg[..separator] : arg;
            canonical.Add(!endOfFlags && IsFlagLike(arg) && names.TryGetValue(name, out var declared) ? declared + arg[name.Length..] : arg);
        }

        return canonical;
    }

    private static IEnumerable<Command> Commands(Command command) =>
        command.Subcommands.SelectMany(Commands).Prepend(command);
}
