using Microsoft.Extensions.Configuration;
using Streams.Actors.Config;
using Streams.Actors.Restore;
using Streams.Api;
using Streams.Api.Cluster;
using Xunit;

namespace Streams.Tests.Unit.Cluster;

/// <summary>Cluster deployment settings: flags, environment aliases, HOCON, and the refusals.</summary>
public sealed class ClusterSettingsTests
{
    private const string Seeds = "akka.tcp://streams@10.0.0.1:4053,akka.tcp://streams@10.0.0.2:4053";

    [Fact]
    public void Should_map_the_cluster_flags_to_their_keys_when_given_on_the_command_line()
    {
        var values = CommandLine.Parse(
            ["--cluster-seed-nodes", Seeds, "--cluster-host=node-1.internal", "--cluster-port", "4053", "--cluster-role", "streams"],
            _ => null,
            out var problems);

        Assert.Empty(problems);
        Assert.Equal(Seeds, values["Streams:ClusterSeedNodes"]);
        Assert.Equal("node-1.internal", values["Streams:ClusterHost"]);
        Assert.Equal("4053", values["Streams:ClusterPort"]);
        Assert.Equal("streams", values["Streams:ClusterRole"]);
    }

    [Fact]
    public void Should_take_the_cluster_settings_from_the_environment_when_no_flag_gives_them()
    {
        var environment = new Dictionary<string, string>
        {
            ["STREAMS_CLUSTER_SEED_NODES"] = Seeds,
            ["STREAMS_CLUSTER_HOST"] = "node-2.internal",
            ["STREAMS_CLUSTER_PORT"] = "4054",
            ["STREAMS_CLUSTER_ROLE"] = "streams",
        };

        var values = CommandLine.Parse(["--cluster-port", "5000"], name => environment.GetValueOrDefault(name), out var problems);

        Assert.Empty(problems);
        Assert.Equal(Seeds, values["Streams:ClusterSeedNodes"]);
        Assert.Equal("node-2.internal", values["Streams:ClusterHost"]);
        Assert.Equal("5000", values["Streams:ClusterPort"]);
        Assert.Equal("streams", values["Streams:ClusterRole"]);
    }

    [Fact]
    public void Should_stay_a_single_node_when_no_cluster_setting_is_given()
    {
        var options = Bind([]);

        Assert.False(options.Clustered);
        Assert.Null(ClusterSetup.Build(options, sharedObjectStore: false, RestoreMode.None, out var problem));
        Assert.Null(problem);
    }

    [Fact]
    public void Should_refuse_to_start_when_a_cluster_node_uses_the_local_directory_store()
    {
        var options = Bind(["--cluster-seed-nodes", Seeds]);

        var cluster = ClusterSetup.Build(options, sharedObjectStore: false, RestoreMode.None, out var problem);

        Assert.Null(cluster);
        Assert.Contains("shared object store", problem);
        Assert.Contains("--object-store s3", problem);
    }

    [Fact]
    public void Should_refuse_to_start_when_a_cluster_node_asks_for_an_eager_restore()
    {
        var options = Bind(["--cluster-port", "4053", "--bootstrap-from-object-store"]);

        Assert.Null(ClusterSetup.Build(options, sharedObjectStore: true, RestoreMode.Eager, out var problem));
        Assert.Contains("lazily", problem);
    }

    [Fact]
    public void Should_advertise_the_public_host_and_http_port_when_clustered()
    {
        var options = Bind(["--port", "4441", "--host", "0.0.0.0", "--no-auth", "--cluster-host", "node-1.internal", "--cluster-port", "4053", "--cluster-seed-nodes", Seeds, "--cluster-role", "streams"]);

        var cluster = ClusterSetup.Build(options, sharedObjectStore: true, RestoreMode.Lazy, out var problem)!;

        Assert.Null(problem);
        Assert.Equal("http://node-1.internal:4441", cluster.HttpBaseUrl);
        Assert.Equal("0.0.0.0", cluster.BindHost);
        Assert.Equal("node-1.internal", cluster.PublicHost);
        Assert.Equal(4053, cluster.Port);
        Assert.Equal(["akka.tcp://streams@10.0.0.1:4053", "akka.tcp://streams@10.0.0.2:4053"], cluster.SeedNodes);
        Assert.Equal(["streams"], cluster.Roles);
        Assert.Equal("streams", cluster.ShardRole);
    }

    [Fact]
    public void Should_default_the_public_host_to_the_listen_address_when_it_names_one_interface()
    {
        var options = Bind(["--host", "::1", "--port", "4441", "--cluster-port", "0"]);

        var cluster = ClusterSetup.Build(options, sharedObjectStore: true, RestoreMode.None, out _)!;

        Assert.Equal("::1", cluster.PublicHost);
        Assert.Equal("http://[::1]:4441", cluster.HttpBaseUrl);
        Assert.Empty(cluster.SeedNodes);
    }

    [Fact]
    public void Should_report_a_problem_when_a_seed_node_is_not_an_akka_address()
    {
        var problems = new List<string>();
        var values = CommandLine.Parse(["--cluster-seed-nodes", "10.0.0.1:4053"], _ => null, out _);

        Assert.Null(ServerOptions.Bind(Section(values), problems));
        Assert.Contains(problems, problem => problem.Contains("akka.tcp://streams@host:port", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_report_a_problem_when_the_remoting_port_is_out_of_range()
    {
        var problems = new List<string>();
        var values = CommandLine.Parse(["--cluster-port", "70000"], _ => null, out _);

        Assert.Null(ServerOptions.Bind(Section(values), problems));
        Assert.Contains(problems, problem => problem.Contains("ClusterPort", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_read_the_cluster_tuning_from_hocon_when_overridden()
    {
        var settings = StreamsSettings.From(Akka.Configuration.ConfigurationFactory.ParseString(
            "streams.cluster { shard-count = 40, handoff-timeout = 5s, owner-cache-ttl = 1s, move-retry-pause = 50ms }"));

        Assert.Equal(40, settings.ClusterShardCount);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.HandOffTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.OwnerCacheTtl);
        Assert.Equal(TimeSpan.FromMilliseconds(50), settings.MoveRetryPause);
    }

    private static ServerOptions Bind(string[] args)
    {
        var values = CommandLine.Parse(args, _ => null, out var parseProblems);
        Assert.Empty(parseProblems);
        var problems = new List<string>();
        var options = ServerOptions.Bind(Section(values), problems);
        Assert.Empty(problems);
        return options!;
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(ServerOptions.Section);
}
