using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Streams.Tests.Support;
using Streams.Tests.Unit.EndToEnd;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// The real server binary as cluster members on loopback, sharing a bucket on the real S3 server:
/// any node answers for any stream with the same bytes and headers, live reads work through a node
/// that does not own the stream, and a SIGTERM is a graceful leave that loses nothing. Also: a
/// server started without cluster settings opens no port besides HTTP.
/// </summary>
public sealed class ClusterProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(90);
    private const int StreamCount = 12;

    private readonly List<ServerProcess> servers = [];
    private readonly List<TestDirectory> directories = [];
    private EndToEndStore? store;

    [Fact]
    public async Task Should_listen_on_the_http_port_only_when_started_without_cluster_settings()
    {
        if (!OperatingSystem.IsLinux())
        {
            output.WriteLine("Skipped: listening sockets are read from /proc, which only Linux has.");
            return;
        }

        var server = await StartAsync(["--object-store", "local"], environment: null);

        var ports = ListeningPorts(server.ProcessId);

        Assert.Equal([server.BaseAddress.Port], ports);
    }

    [S3Fact]
    public async Task Should_answer_the_same_through_every_node_and_lose_nothing_when_an_owner_leaves_gracefully()
    {
        store = await S3BucketStore.CreateAsync();
        var seedPort = ServerProcess.FreeLoopbackPort();
        var seed = $"akka.tcp://streams@127.0.0.1:{seedPort}";
        var first = await StartMemberAsync(seedPort, seed);
        var second = await StartMemberAsync(ServerProcess.FreeLoopbackPort(), seed);
        await first.WaitUntilReadyAsync(ReadyTimeout);
        await second.WaitUntilReadyAsync(ReadyTimeout);
        using var firstClient = new StreamsHttpClient(first.BaseAddress);
        using var secondClient = new StreamsHttpClient(second.BaseAddress);

        var names = Enumerable.Range(0, StreamCount).Select(i => $"cluster/stream-{i}").ToList();
        foreach (var name in names)
        {
            await firstClient.CreateAsync(name);
            await secondClient.AppendAsync(name, Encoding.UTF8.GetBytes($"{name}:1"));
            await firstClient.AppendAsync(name, Encoding.UTF8.GetBytes($"{name}:2"));
        }

        // Same status, headers and bytes whichever node answers.
        using var http = new HttpClient();
        foreach (var name in names)
        {
            var viaFirst = await SnapshotAsync(http, first, name);
            var viaSecond = await SnapshotAsync(http, second, name);
            Assert.Equal(viaFirst, viaSecond);
        }

        var owners = new Dictionary<string, string>();
        foreach (var name in names)
        {
            owners[name] = (await firstClient.DetailsAsync(name)).GetProperty("owner_node").GetString()!;
        }

        Assert.Equal(2, owners.Values.Distinct().Count());
        var secondNode = (await ReadyAsync(http, second)).GetProperty("node").GetString()!;

        // A long-poll through the node that does not own the stream is woken by an append on the owner.
        var remote = names.First(name => owners[name] == secondNode);
        var (_, tail) = await firstClient.ReadToTailAsync(remote);
        var longPoll = http.GetAsync(new Uri(first.BaseAddress, $"{StreamsHttpClient.StreamPath(remote)}?offset={tail}&live=long-poll"));
        await secondClient.AppendAsync(remote, Encoding.UTF8.GetBytes("live"));
        var woken = await longPoll;
        Assert.Equal(HttpStatusCode.OK, woken.StatusCode);
        Assert.Equal("live", await woken.Content.ReadAsStringAsync());

        // SIGTERM: the second node hands its streams over; the first serves all of them, complete.
        Assert.True(await second.TryTerminateAsync(StopTimeout), second.RecentOutput);
        foreach (var name in names)
        {
            var (bytes, _) = await firstClient.ReadToTailAsync(name);
            var expected = $"{name}:1{name}:2" + (name == remote ? "live" : string.Empty);
            Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
            var details = await firstClient.DetailsAsync(name);
            Assert.NotEqual(secondNode, details.GetProperty("owner_node").GetString());
            var next = await firstClient.AppendAsync(name, Encoding.UTF8.GetBytes("after"));
            // A graceful hand-off keeps the epoch: no offset of the stream changes meaning.
            Assert.StartsWith("0000000000000000_", next.ToString(), StringComparison.Ordinal);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// IAsyncLifetime, not IAsyncDisposable: xUnit 2 does not dispose a test class asynchronously,
    /// so the server processes were left running after every run.
    /// </summary>
    public Task DisposeAsync() => ClusterProcessTeardown.DisposeAllAsync(servers, directories, store);

    private async Task<ServerProcess> StartMemberAsync(int remotingPort, string seed) =>
        await StartAsync(
            [.. store!.ServerArguments, "--cluster-port", remotingPort.ToString(CultureInfo.InvariantCulture), "--cluster-host", "127.0.0.1", "--cluster-seed-nodes", seed],
            store.ServerEnvironment);

    private async Task<ServerProcess> StartAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment)
    {
        var directory = new TestDirectory("cluster");
        directories.Add(directory);
        var server = await ServerProcess.StartAsync(directory.Path, arguments, environment);
        servers.Add(server);
        return server;
    }

    private static async Task<JsonElement> ReadyAsync(HttpClient http, ServerProcess server)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(server.BaseAddress, "/ready")));
        return document.RootElement.Clone();
    }

    /// <summary>Status, every header but Date, and the body of a catch-up read from the start.</summary>
    private static async Task<string> SnapshotAsync(HttpClient http, ServerProcess server, string name)
    {
        using var response = await http.GetAsync(new Uri(server.BaseAddress, $"{StreamsHttpClient.StreamPath(name)}?offset=-1"));
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(header => header.Key != "Date")
            .OrderBy(header => header.Key, StringComparer.OrdinalIgnoreCase)
            .Select(header => $"{header.Key}: {string.Join(",", header.Value)}");
        return $"{(int)response.StatusCode}\n{string.Join("\n", headers)}\n{await response.Content.ReadAsStringAsync()}";
    }

    /// <summary>TCP ports the process listens on, from /proc (its socket inodes matched in net/tcp{,6}).</summary>
    private static List<int> ListeningPorts(int processId)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in Directory.EnumerateFiles($"/proc/{processId}/fd"))
        {
            var target = new FileInfo(descriptor).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                inodes.Add(target["socket:[".Length..^1]);
            }
        }

        const string listenState = "0A";
        var ports = new List<int>();
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            foreach (var line in File.ReadLines($"/proc/{processId}/net/{table}").Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] == listenState && inodes.Contains(fields[9]))
                {
                    ports.Add(int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
        }

        return ports;
    }
}
