using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Streams.Api;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// The grammar the server documents (docs/configuration.md, "Command line") as System.CommandLine
/// parses it through <see cref="CommandLineSyntax"/>, and the help it prints.
/// </summary>
public sealed partial class CommandLineGrammarTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Should_list_every_flag_of_the_configuration_table_when_help_is_asked_for()
    {
        var documented = DocumentedFlags();
        var help = Help();

        // The table has some thirty flags; an empty list would make the loop below prove nothing.
        Assert.True(documented.Count >= 30, $"only {documented.Count} flags found in docs/configuration.md");
        Assert.All(documented, flag => Assert.Matches($@"(?m)^\s+{Regex.Escape(flag)}\b", help));
    }

    [Fact]
    public void Should_accept_every_flag_the_help_lists()
    {
        var listed = HelpFlag().Matches(Help()).Select(match => (Flag: match.Groups["flag"].Value, TakesValue: match.Groups["value"].Success)).ToList();

        Assert.True(listed.Count >= 30, $"only {listed.Count} flags in the help");
        Assert.All(listed, entry =>
        {
            CommandLine.Parse(entry.TakesValue ? [entry.Flag, "1"] : [entry.Flag], NoEnvironment, out var problems);
            Assert.Empty(problems);
        });
    }

    [Fact]
    public void Should_ask_for_help_when_help_is_passed_with_other_flags()
    {
        CommandLine.Read(["--port", "1", "--help"], NoEnvironment, out _, out var helpRequested);
        CommandLine.Read(["--port", "1"], NoEnvironment, out _, out var notRequested);

        Assert.True(helpRequested);
        Assert.False(notRequested);
    }

    [Fact]
    public void Should_take_the_last_value_when_a_flag_is_repeated()
    {
        var values = CommandLine.Parse(["--port", "1", "--port=2"], NoEnvironment, out var problems);

        Assert.Empty(problems);
        Assert.Equal("2", values["Streams:Port"]);
    }

    [Fact]
    public void Should_match_a_flag_whatever_its_case()
    {
        var values = CommandLine.Parse(["--PORT", "1", "--Data-Dir=/d", "--No-Auth"], NoEnvironment, out var problems);

        Assert.Empty(problems);
        Assert.Equal("1", values["Streams:Port"]);
        Assert.Equal("/d", values["Streams:DataDir"]);
        Assert.Equal("none", values["Streams:AuthStrategy"]);
    }

    [Theory]
    [InlineData("none", "--auth-strategy", "api-key", "--no-auth")]
    [InlineData("api-key", "--no-auth", "--auth-strategy", "api-key")]
    public void Should_take_the_later_of_no_auth_and_auth_strategy(string expected, params string[] args)
    {
        var values = CommandLine.Parse(args, NoEnvironment, out var problems);

        Assert.Empty(problems);
        Assert.Equal(expected, values["Streams:AuthStrategy"]);
    }

    [Fact]
    public void Should_report_a_missing_value_and_an_unknown_flag_when_a_flag_is_followed_by_an_unknown_flag()
    {
        CommandLine.Parse(["--data-dir", "--dta"], NoEnvironment, out var problems);

        Assert.Equal(["option '--data-dir' needs a value", "unknown option '--dta'"], problems);
    }

    [Fact]
    public void Should_leave_a_flag_without_a_value_when_another_flag_follows_and_still_read_that_flag()
    {
        var values = CommandLine.Parse(["--port", "--host", "::1"], NoEnvironment, out var problems);

        Assert.Equal(["option '--port' needs a value"], problems);
        Assert.Equal("::1", values["Streams:Host"]);
        Assert.False(values.ContainsKey("Streams:Port"));
    }

    [Theory]
    [InlineData("@args.txt")]
    [InlineData("[diagram]")]
    [InlineData("--version")]
    public void Should_report_an_unknown_option_when_an_argument_has_a_meaning_only_to_the_parser_library(string arg)
    {
        CommandLine.Parse([arg], NoEnvironment, out var problems);

        Assert.Equal([$"unknown option '{arg}'"], problems);
    }

    private static string Help()
    {
        using var output = new StringWriter();
        CommandLine.WriteHelp(output);
        return output.ToString();
    }

    /// <summary>The flags in the "Flag" column of the deployment settings table.</summary>
    private static List<string> DocumentedFlags()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "configuration.md");
        var rows = File.ReadLines(path)
            .SkipWhile(line => !line.StartsWith("| Key | Flag |", StringComparison.Ordinal))
            .Skip(2)
            .TakeWhile(line => line.StartsWith('|'));
        return [.. rows
            .Select(row => row.Split('|')[2])
            .SelectMany(column => DocumentedFlag().Matches(column).Select(match => match.Groups["flag"].Value))
            .Distinct()];
    }

    private static string RepositoryRoot([CallerFilePath] string sourceFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(sourceFile)!, "..", "..", ".."));

    [GeneratedRegex(@"`(?<flag>--[a-z0-9-]+)")]
    private static partial Regex DocumentedFlag();

    [GeneratedRegex(@"(?m)^\s+(?:-\S+, )*(?<flag>--[a-z0-9-]+)(?<value> <[^>]+>)?")]
    private static partial Regex HelpFlag();
}
