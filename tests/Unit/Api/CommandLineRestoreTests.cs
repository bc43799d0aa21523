using Streams.Api;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>How the restore flags and their environment aliases combine into the restore mode.</summary>
public sealed class CommandLineRestoreTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Theory]
    [InlineData("--lazy-restore")]
    [InlineData("--lazy-restore", "--bootstrap-from-object-store")]
    [InlineData("--bootstrap-from-object-store", "--lazy-restore")]
    [InlineData("--bootstrap-from-r2", "--lazy-restore")]
    public void Should_restore_lazily_when_lazy_restore_is_passed_with_or_without_an_eager_flag(params string[] args)
    {
        var values = CommandLine.Parse(args, NoEnvironment, out var problems);

        Assert.Empty(problems);
        Assert.Equal("lazy", values["Streams:Restore"]);
    }

    [Theory]
    [InlineData("--bootstrap-from-object-store")]
    [InlineData("--bootstrap-from-r2")]
    public void Should_restore_eagerly_when_only_an_eager_flag_is_passed(string flag)
    {
        var values = CommandLine.Parse([flag], NoEnvironment, out _);

        Assert.Equal("eager", values["Streams:Restore"]);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("true")]
    public void Should_restore_lazily_when_DS_LAZY_RESTORE_is_set_even_with_an_eager_flag(string value)
    {
        var environment = new Dictionary<string, string> { ["DS_LAZY_RESTORE"] = value };

        var values = CommandLine.Parse(["--bootstrap-from-r2"], name => environment.GetValueOrDefault(name), out var problems);

        Assert.Empty(problems);
        Assert.Equal("lazy", values["Streams:Restore"]);
    }

    [Fact]
    public void Should_leave_the_restore_mode_unset_when_no_restore_flag_or_variable_is_given()
    {
        var values = CommandLine.Parse(["--port", "1234"], NoEnvironment, out _);

        Assert.False(values.ContainsKey("Streams:Restore"));
    }

    [Fact]
    public void Should_take_the_eager_restore_parallelism_when_the_flag_is_given()
    {
        var values = CommandLine.Parse(["--restore-parallelism", "4"], NoEnvironment, out var problems);

        Assert.Empty(problems);
        Assert.Equal("4", values["Streams:RestoreParallelism"]);
    }
}
