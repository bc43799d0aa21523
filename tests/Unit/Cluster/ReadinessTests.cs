using System.Net;
using System.Text.Json;
using Streams.Api.Cluster;
using Streams.Tests.Unit.Api;
using Xunit;

namespace Streams.Tests.Unit.Cluster;

public sealed class ReadinessTests
{
    [Theory]
    [InlineData(false, false, false, false, null, "ready")]
    [InlineData(true, false, false, false, null, "restoring")]
    [InlineData(false, true, false, false, null, "draining")]
    [InlineData(false, false, true, false, null, "starting")]
    [InlineData(false, false, true, true, "Joining", "joining")]
    [InlineData(false, false, true, true, "Up", "ready")]
    [InlineData(false, false, true, true, "Leaving", "leaving")]
    [InlineData(true, false, true, true, "Up", "restoring")]
    public void Should_be_ready_only_when_restored_not_draining_and_up_when_clustered(
        bool restoring, bool draining, bool clustered, bool regionStarted, string? memberStatus, string expected)
    {
        Assert.Equal(expected, Readiness.Evaluate(restoring, draining, clustered, regionStarted, memberStatus));
    }

    [Fact]
    public async Task Should_answer_ready_and_name_the_owner_node_when_a_single_node_has_started()
    {
        await using var host = new ApiHost();

        var ready = await host.Client.GetAsync("/ready");
        var health = await host.Client.GetAsync("/health");
        await host.Stream("ready-check").Put();
        var details = await host.Client.GetAsync("/v1/stream/ready-check/_details");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var detailsBody = JsonDocument.Parse(await details.Content.ReadAsStringAsync());
        Assert.Equal(Environment.MachineName, detailsBody.RootElement.GetProperty("owner_node").GetString());
    }
}
