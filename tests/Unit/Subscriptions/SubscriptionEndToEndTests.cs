using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Subscriptions;
using Streams.Tests.Support;
using Streams.Tests.Unit.EndToEnd;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;

namespace Streams.Tests.Unit.Subscriptions;

/// <summary>
/// Subscriptions against the real server process and a real HTTP receiver on loopback: a receiver
/// that is down, signatures checked against the published JWKS, state across a drain and a lazy
/// restore onto an empty disk.
/// </summary>
public sealed class SubscriptionEndToEndTests : IDisposable
{
    private const string SubscriptionRoot = "/v1/stream/__ds/subscriptions/";
    private const string FastRetries = "streams.subscriptions { retry-initial-backoff = 100ms, retry-max-backoff = 400ms }";
    private static readonly TimeSpan WakeTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);

    private readonly TestDirectory directory = new("subscriptions-e2e");

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_deliver_every_pending_wake_signed_when_a_receiver_comes_back_after_being_down()
    {
        await using var server = await StartServerAsync("data", store: null, []);
        await using var receiver = new WebhookReceiver(answerDone: true);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        await PutWebhookAsync(http, "downtime", "jobs/*", receiver.Url);

        // Appends go on while nothing listens at the receiver's address.
        await server.Protocol().CreateAsync("jobs/a");
        await server.Protocol().CreateAsync("jobs/b");
        await server.Protocol().AppendAsync("jobs/a", [1]);
        await server.Protocol().AppendAsync("jobs/b", [2]);
        var tailA = await server.Protocol().AppendAsync("jobs/a", [3]);
        await Eventually.AssertAsync(
            async () => Assert.Equal("failed", (await GetAsync(http, "downtime")).GetProperty("status").GetString()),
            WakeTimeout);
        var tailB = await server.Protocol().AppendAsync("jobs/b", [4]);

        await receiver.StartAsync();
        await Eventually.AssertAsync(
            async () =>
            {
                var subscription = await GetAsync(http, "downtime");
                Assert.Equal(tailA.ToString(), AckedOffset(subscription, "jobs/a"));
                Assert.Equal(tailB.ToString(), AckedOffset(subscription, "jobs/b"));
                Assert.Equal("active", subscription.GetProperty("status").GetString());
            },
            WakeTimeout);

        var jwks = await http.GetByteArrayAsync("/v1/stream/__ds/jwks.json");
        Assert.NotEmpty(receiver.Deliveries);
        foreach (var delivery in receiver.Deliveries)
        {
            Assert.True(WebhookSignature.Verify(delivery.Signature, delivery.Body, jwks), $"signature does not verify: {delivery.Signature}");
            Assert.Equal("downtime", delivery.Json.GetProperty("subscription_id").GetString());
        }
    }

    [Fact]
    public async Task Should_keep_definitions_and_acked_offsets_across_a_drain_and_a_lazy_restore_on_an_empty_disk()
    {
        await using var store = new LocalDirectoryStore();
        await DrainThenLazyRestoreAsync(store);
    }

    [S3Fact]
    public async Task Should_keep_definitions_and_acked_offsets_across_a_drain_and_a_lazy_restore_on_an_empty_disk_with_an_s3_bucket()
    {
        await using var store = await S3BucketStore.CreateAsync();
        await DrainThenLazyRestoreAsync(store);
    }

    [Fact]
    public async Task Should_refuse_a_change_rather_than_overwrite_a_document_another_writer_changed_and_keep_both_changes_after_a_retry()
    {
        // When a subscription moves, a write its previous owner sent before stopping may land after
        // the new owner read the document; neither write may silently replace the other.
        await using var server = await StartServerAsync("data", store: null, []);
        await using var receiver = new WebhookReceiver(answerDone: true);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        foreach (var name in new[] { "jobs/a", "jobs/b" })
        {
            await server.Protocol().CreateAsync(name);
        }

        await PutWebhookAsync(http, "cas", "elsewhere/*", receiver.Url);
        var objects = new FileSystemObjectStore(Path.Combine(directory.Combine("data"), "objects"));
        var key = SubscriptionDocument.KeyOf("cas");
        var stored = SubscriptionDocument.FromJson((await objects.GetAsync(key, CancellationToken.None))!);
        var links = new Dictionary<string, StreamLink>(stored.Links, StringComparer.Ordinal)
        {
            ["jobs/a"] = new StreamLink(Explicit: true, Glob: false, Offset.Zero),
        };
        await objects.PutAsync(key, (stored with { Links = links }).ToJson(), CancellationToken.None);

        using (var refused = await PostStreamsAsync(http, "cas", "jobs/b"))
        {
            var body = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"first add: {(int)refused.StatusCode} {body}");
            Assert.Contains("UNAVAILABLE", body, StringComparison.Ordinal);
        }

        using (var retried = await PostStreamsAsync(http, "cas", "jobs/b"))
        {
            Assert.True(retried.IsSuccessStatusCode, $"retried add: {(int)retried.StatusCode} {await retried.Content.ReadAsStringAsync()}");
        }

        var linked = (await GetAsync(http, "cas")).GetProperty("streams").EnumerateArray().Select(stream => stream.GetProperty("path").GetString()).ToList();
        Assert.Equal(["jobs/a", "jobs/b"], linked);
        var final = SubscriptionDocument.FromJson((await objects.GetAsync(key, CancellationToken.None))!);
        Assert.Equal(["jobs/a", "jobs/b"], final.Links.Keys.Order(StringComparer.Ordinal));
    }

    private static Task<HttpResponseMessage> PostStreamsAsync(HttpClient http, string id, string stream) =>
        http.PostAsync(
            SubscriptionRoot + id + "/streams",
            new StringContent(JsonSerializer.Serialize(new { streams = new[] { stream } }), Encoding.UTF8, "application/json"));

    private async Task DrainThenLazyRestoreAsync(EndToEndStore store)
    {
        await using var receiver = new WebhookReceiver(answerDone: true);
        await receiver.StartAsync();

        Offset acked;
        var first = await StartServerAsync("data-1", store, [.. store.ServerArguments]);
        await using (first)
        {
            using var http = new HttpClient { BaseAddress = first.BaseAddress };
            await first.Protocol().CreateAsync("jobs/old");
            await first.Protocol().AppendAsync("jobs/old", [1]);
            await PutWebhookAsync(http, "durable", "jobs/*", receiver.Url);
            acked = await first.Protocol().AppendAsync("jobs/old", [2]);
            await Eventually.AssertAsync(async () => Assert.Equal(acked.ToString(), AckedOffset(await GetAsync(http, "durable"), "jobs/old")), WakeTimeout);
            // Only in the bucket after the drain: a pattern subscription made after the restore must pick it up.
            await first.Protocol().CreateAsync("jobs/elder");
            await first.Protocol().AppendAsync("jobs/elder", [9]);
            Assert.True(await first.TryTerminateAsync(DrainTimeout), "the first server did not drain in time");
        }

        var deliveriesBefore = receiver.Deliveries.Count;
        await using var second = await StartServerAsync("data-2", store, [.. store.ServerArguments, "--lazy-restore"]);
        using var client = new HttpClient { BaseAddress = second.BaseAddress };
        var restored = await GetAsync(client, "durable");
        Assert.Equal(receiver.Url, restored.GetProperty("webhook").GetProperty("url").GetString());
        Assert.Equal("jobs/*", restored.GetProperty("pattern").GetString());
        Assert.Equal(acked.ToString(), AckedOffset(restored, "jobs/old"));

        // The next append wakes the receiver from the acked offset, not from the beginning.
        var tail = await second.Protocol().AppendAsync("jobs/old", [3]);
        await Eventually.AssertAsync(async () => Assert.Equal(tail.ToString(), AckedOffset(await GetAsync(client, "durable"), "jobs/old")), WakeTimeout);
        var wake = receiver.Deliveries.Skip(deliveriesBefore).Select(delivery => delivery.Json)
            .SelectMany(json => json.GetProperty("streams").EnumerateArray())
            .First(stream => stream.GetProperty("path").GetString() == "jobs/old");
        Assert.Equal(acked.ToString(), wake.GetProperty("acked_offset").GetString());

        // A subscription made now cannot see jobs/elder (not hydrated); touching the stream links it at its tail.
        await PutWebhookAsync(client, "late", "jobs/*", receiver.Url);
        var (_, elderTail) = await second.Protocol().ReadToTailAsync("jobs/elder");
        await Eventually.AssertAsync(async () => Assert.Equal(elderTail.ToString(), AckedOffset(await GetAsync(client, "late"), "jobs/elder")), WakeTimeout);
        var elderNext = await second.Protocol().AppendAsync("jobs/elder", [10]);
        await Eventually.AssertAsync(async () => Assert.Equal(elderNext.ToString(), AckedOffset(await GetAsync(client, "late"), "jobs/elder")), WakeTimeout);
    }

    private async Task<ServerProcess> StartServerAsync(string dataDirectoryName, EndToEndStore? store, string[] arguments) =>
        await ServerProcess.StartAsync(
            directory.Combine(dataDirectoryName),
            ["--allow-private-webhooks", "--hocon", FastRetries, .. arguments],
            store?.ServerEnvironment);

    private static async Task PutWebhookAsync(HttpClient http, string id, string pattern, string url)
    {
        var body = JsonSerializer.Serialize(new { type = "webhook", pattern, webhook = new { url }, lease_ttl_ms = 5000 });
        using var response = await http.PutAsync(SubscriptionRoot + id, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"PUT {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string id)
    {
        using var response = await http.GetAsync(SubscriptionRoot + id);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {id}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string? AckedOffset(JsonElement subscription, string path) =>
        subscription.GetProperty("streams").EnumerateArray()
            .Where(stream => stream.GetProperty("path").GetString() == path)
            .Select(stream => stream.GetProperty("acked_offset").GetString())
            .FirstOrDefault();
}
