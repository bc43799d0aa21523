using Microsoft.Extensions.Configuration;
using Streams.Api;
using Xunit;

namespace Streams.Tests.Unit.Api;

public sealed class CommandLineTests
{
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

    [Fact]
    public void Should_accept_configuration_keys_and_host_settings_as_key_value_arguments()
    {
        var values = CommandLine.Parse(
            ["--Streams:DataDir=/d", "--Logging:LogLevel:Default=Warning", "--environment=Development", "--contentRoot=/c"],
            out var problems);

        Assert.Empty(problems);
        Assert.Equal("/d", values["Streams:DataDir"]);
        Assert.Equal("Warning", values["Logging:LogLevel:Default"]);
        Assert.Equal("Development", values[CommandLine.EnvironmentKey]);
        Assert.Equal("/c", values[CommandLine.ContentRootKey]);
    }

    [Theory]
    [InlineData("--bogus", "1")]
    [InlineData("--Other:Key=1")]
    [InlineData("Streams:Port=1")]
    [InlineData("--port")]
    [InlineData("--port", "--host", "127.0.0.1")]
    public void Should_report_unknown_options_and_flags_without_a_value(params string[] args)
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
