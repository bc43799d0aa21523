using Microsoft.Extensions.Configuration;
using Streams.Api;
using Xunit;

namespace Streams.Tests.Unit.Api;

public sealed class CommandLineTests
{
    [Fact]
    public void Should_map_a_flag_to_its_configuration_key_when_the_flag_is_known()
    {
        var values = CommandLine.Parse(["--data-dir", "/srv/streams", "--port=8080"], out var problems);

        Assert.Empty(problems);
        Assert.Equal("/srv/streams", values["Streams:DataDir"]);
        Assert.Equal("8080", values["Streams:Port"]);
    }

    [Fact]
    public void Should_report_a_problem_when_a_flag_is_unknown()
    {
        CommandLine.Parse(["--prot=8080", "--lazy"], out var problems);

        Assert.Equal(["unknown option '--prot'", "unknown option '--lazy'"], problems);
    }

    [Fact]
    public void Should_pass_arguments_through_when_they_are_configuration_paths_or_host_keys()
    {
        string[] args =
        [
            "--Streams=",
            "--Streams:DataDir=/tmp/data",
            "--environment=Development",
            "--contentRoot=/app",
            "--applicationName=Streams.Api",
        ];

        var values = CommandLine.Parse(args, out var problems);

        Assert.Empty(problems);
        Assert.Equal("/tmp/data", values["Streams:DataDir"]);
        Assert.Equal("Development", values["environment"]);
        Assert.False(values.ContainsKey("Streams"));
    }

    [Fact]
    public void Should_report_a_problem_when_an_empty_section_argument_has_no_child_path()
    {
        CommandLine.Parse(["--Streams="], out var problems);

        Assert.Equal(["unknown option '--Streams'"], problems);
    }

    [Fact]
    public void Should_map_every_flag_to_its_configuration_key_in_both_spellings()
    {
        var values = CommandLine.Parse(
            ["--host", "::1", "--port=0", "--data-dir", "/d", "--long-poll-timeout-ms=500", "--max-append-bytes", "10"],
            out var problems);

        Assert.Empty(problems);
        Assert.Equal("::1", values["Streams:Host"]);
        Assert.Equal("0", values["Streams:Port"]);
        Assert.Equal("/d", values["Streams:DataDir"]);
        Assert.Equal("500", values["Streams:LongPollTimeoutMs"]);
        Assert.Equal("10", values["Streams:MaxAppendBytes"]);
    }

    [Theory]
    [InlineData("--port")]
    [InlineData("--port", "--host", "127.0.0.1")]
    [InlineData("Streams:Port=1")]
    public void Should_report_a_problem_when_a_flag_has_no_value_or_an_argument_is_not_an_option(params string[] args)
    {
        CommandLine.Parse(args, out var problems);

        Assert.NotEmpty(problems);
    }

    [Theory]
    [InlineData("Host", "localhost")]
    [InlineData("Port", "70000")]
    [InlineData("Port", "-1")]
    [InlineData("Port", "abc")]
    [InlineData("DataDir", " ")]
    [InlineData("LongPollTimeoutMs", "0")]
    [InlineData("MaxAppendBytes", "-5")]
    [InlineData("SegmentTargetRows", "0")]
    [InlineData("RestoreParallelism", "-1")]
    public void Should_refuse_settings_out_of_range_with_a_message_naming_the_key(string key, string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"Streams:{key}"] = value })
            .Build();
        var problems = new List<string>();

        var options = ServerOptions.Bind(configuration.GetSection(ServerOptions.Section), problems);

        Assert.Null(options);
        Assert.Contains(problems, problem => problem.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public void Should_bind_defaults_when_nothing_is_configured()
    {
        var problems = new List<string>();

        var options = ServerOptions.Bind(new ConfigurationBuilder().Build().GetSection(ServerOptions.Section), problems);

        Assert.Empty(problems);
        Assert.NotNull(options);
        Assert.Equal("127.0.0.1", options.Host);
        Assert.Equal(4437, options.Port);
        Assert.Equal("./data", options.DataDir);
        Assert.Null(options.LongPollTimeoutMs);
        Assert.Null(options.MaxAppendBytes);
    }
}
