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
}
