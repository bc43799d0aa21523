using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Streams.Actors.Domain;
using Streams.Tests.Support;
using Streams.Tests.Unit.EndToEnd;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Subscriptions;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Subscriptions on three real cluster members on loopback, sharing a bucket on the real S3 server,
/// with a real webhook receiver: a subscription created through one node wakes the receiver for
/// appends made through another, to streams owned all over the cluster; every node serves the same
/// JWKS; and after the node that owns the subscriptions (the oldest, the first started) leaves with
/// SIGTERM, the next owner goes on from the acked offsets in the bucket, under later generations.
/// </summary>
public sealed class SubscriptionClusterProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string SubscriptionPath = "/v1/stream/__ds/subscriptions/orders";
    private const string JwksPath = "/v1/stream/__ds/jwks.json";
    private const int StreamCount = 6;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan WakeTimeout = TimeSpan.FromSeconds(60);

    private readonly List<ServerProcess> servers = [];
    private readonly List<TestDirectory> directories = [];
    private EndToEndStore? store;

    [S3Fact]
    public async Task Should_wake_once_per_generation_through_any_node_and_go_on_after_the_owning_node_leaves()
    {
        store = await S3BucketStore.CreateAsync();
        var seedPort = ServerProcess.FreeLoopbackPort();
        var seed = $"akka.tcp://streams@127.0.0.1:{seedPort}";
        // The first member is the oldest: the subscriptions' singleton starts there.
        var owner = await StartMemberAsync(seedPort, seed);
        await owner.WaitUntilReadyAsync(ReadyTimeout);
        var controlNode = await StartMemberAsync(ServerProcess.FreeLoopbackPort(), seed);
        var appendNode = await StartMemberAsync(ServerProcess.FreeLoopbackPort(), seed);
        await controlNode.WaitUntilReadyAsync(ReadyTimeout);
        await appendNode.WaitUntilReadyAsync(ReadyTimeout);
        await using var receiver = new WebhookReceiver(answerDone: true);
        await receiver.StartAsync();
        using var control = new HttpClient { BaseAddress = controlNode.BaseAddress };
        using var appender = new StreamsHttpClient(appendNode.BaseAddress);

        var body = JsonSerializer.Serialize(new { type = "webhook", pattern = "orders/*", webhook = new { url = receiver.Url }, lease_ttl_ms = 5000 });
        using (var created = await control.PutAsync(SubscriptionPath, new StringContent(body, Encoding.UTF8, "application/json")))
        {
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        }

        var names = Enumerable.Range(0, StreamCount).Select(i => $"orders/o-{i}").ToList();
        var tails = new Dictionary<string, Offset>();
        foreach (var name in names)
        {
            await appender.CreateAsync(name);
            tails[name] = await appender.AppendAsync(name, Encoding.UTF8.GetBytes($"{name}:1"));
        }

        // Every stream is read through the control node too, which must serve each at the tail its
        // appender was told.
        using var controlStreams = new StreamsHttpClient(controlNode.BaseAddress);
        var streamOwners = new HashSet<string>();
        foreach (var name in names)
        {
            var (_, tail) = await controlStreams.ReadToTailAsync(name);
            Assert.Equal(tails[name], tail);
            streamOwners.Add((await appender.DetailsAsync(name)).GetProperty("owner_node").GetString()!);
        }

        output.WriteLine($"{StreamCount} streams owned by {streamOwners.Count} nodes");
        Assert.True(streamOwners.Count > 1, "the streams should be spread over several nodes");
        await AssertAckedAsync(control, tails);

        // Any node answers the same JWKS, and every delivery verifies against it.
        var jwks = await control.GetByteArrayAsync(JwksPath);
        using (var other = new HttpClient { BaseAddress = appendNode.BaseAddress })
        {
            Assert.Equal(jwks, await other.GetByteArrayAsync(JwksPath));
        }

        var before = receiver.Deliveries.ToList();
        Assert.NotEmpty(before);
        foreach (var delivery in before)
        {
            Assert.True(WebhookSignature.Verify(delivery.Signature, delivery.Body, jwks), $"signature does not verify: {delivery.Signature}");
        }

        var ownerKey = KeyId(before[^1]);

        // The owning node leaves; the next oldest takes the subscriptions over from the bucket.
        Assert.True(await owner.TryTerminateAsync(StopTimeout), owner.RecentOutput);
        foreach (var name in names)
        {
            tails[name] = await appender.AppendAsync(name, Encoding.UTF8.GetBytes($"{name}:2"));
        }

        await AssertAckedAsync(control, tails);
        var after = receiver.Deliveries.Skip(before.Count).ToList();
        Assert.NotEmpty(after);
        var jwksAfter = await control.GetByteArrayAsync(JwksPath);
        foreach (var delivery in after)
        {
            Assert.True(WebhookSignature.Verify(delivery.Signature, delivery.Body, jwksAfter), $"signature does not verify: {delivery.Signature}");
        }

        // Signed by the new owner's key: the subscriptions moved off the node that left.
        Assert.NotEqual(ownerKey, KeyId(after[^1]));
        // The key of the node that left stays published, so what it signed still verifies.
        Assert.Contains(ownerKey, Encoding.UTF8.GetString(jwksAfter), StringComparison.Ordinal);

        // One owner at a time: generations only grow, and each belongs to one wake (a retry of a
        // wake repeats its generation and wake id; two owners would send two wakes of one generation).
        var wakes = receiver.Deliveries.Select(delivery => delivery.Json)
            .Select(json => (Generation: json.GetProperty("generation").GetInt64(), WakeId: json.GetProperty("wake_id").GetString()!))
            .ToList();
        output.WriteLine($"{wakes.Count} deliveries, generations {string.Join(",", wakes.Select(wake => wake.Generation))}");
        Assert.Equal(wakes.Select(wake => wake.Generation).Order(), wakes.Select(wake => wake.Generation));
        Assert.All(wakes.GroupBy(wake => wake.Generation), generation => Assert.Single(generation.Select(wake => wake.WakeId).Distinct()));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>
    /// IAsyncLifetime, not IAsyncDisposable: xUnit 2 does not call DisposeAsync of an
    /// IAsyncDisposable test class, and the members left running would outlive the test run.
    /// </summary>
    public Task DisposeAsync() => ClusterProcessTeardown.DisposeAllAsync(servers, directories, store);

    private static async Task AssertAckedAsync(HttpClient control, Dictionary<string, Offset> tails) =>
        await Eventually.AssertAsync(
            async () =>
            {
                using var response = await control.GetAsync(SubscriptionPath);
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
                var acked = JsonDocument.Parse(text).RootElement.GetProperty("streams").EnumerateArray()
                    .ToDictionary(stream => stream.GetProperty("path").GetString()!, stream => stream.GetProperty("acked_offset").GetString());
                foreach (var (name, tail) in tails)
                {
                    Assert.True(acked.TryGetValue(name, out var offset) && offset == tail.ToString(), $"{name}: acked {offset ?? "(not linked)"}, tail {tail}");
                }
            },
            WakeTimeout);

    private static string KeyId(WebhookReceiver.Delivery delivery) =>
        delivery.Signature.Split(',').Single(part => part.StartsWith("kid=", StringComparison.Ordinal))["kid=".Length..];

    private async Task<ServerProcess> StartMemberAsync(int remotingPort, string seed)
    {
        var directory = new TestDirectory("subscription-cluster");
        directories.Add(directory);
        var server = await ServerProcess.StartAsync(
            directory.Path,
            [.. store!.ServerArguments, "--allow-private-webhooks", "--cluster-port", remotingPort.ToString(CultureInfo.InvariantCulture), "--cluster-host", "127.0.0.1", "--cluster-seed-nodes", seed],
            store.ServerEnvironment);
        servers.Add(server);
        return server;
    }
}
