using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Streams.Tests.Unit.Api;
using Xunit;

namespace Streams.Tests.Unit.Subscriptions;

/// <summary>Bad input to the subscription control plane gets a JSON error with a code and a message, never a 500.</summary>
public sealed class SubscriptionBadInputTests : IAsyncLifetime
{
    private const string Root = "/v1/stream/__ds/subscriptions/";
    private ApiHost host = null!;

    public Task InitializeAsync()
    {
        host = new ApiHost();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"type\":\"carrier-pigeon\"}")]
    [InlineData("{\"type\":\"webhook\"}")]
    [InlineData("{\"type\":\"webhook\",\"webhook\":\"http://x\"}")]
    [InlineData("{\"type\":\"pull-wake\",\"pattern\":\"a/*\"}")]
    [InlineData("{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"lease_ttl_ms\":5}")]
    [InlineData("{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"lease_ttl_ms\":\"long\"}")]
    [InlineData("{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"streams\":\"a\"}")]
    [InlineData("{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"streams\":[1]}")]
    [InlineData("{\"type\":\"pull-wake\",\"wake_stream\":\"w\",\"pattern\":\"a//b\"}")]
    [InlineData("{\"type\":\"pull-wake\",\"wake_stream\":\"w\"} trailing")]
    public async Task Should_answer_400_invalid_request_when_a_subscription_body_is_malformed(string body)
    {
        using var response = await SendAsync(HttpMethod.Put, Root + "bad-body", body);
        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_REQUEST");
    }

    [Fact]
    public async Task Should_answer_400_when_a_pattern_is_longer_than_the_limit()
    {
        var body = JsonSerializer.Serialize(new { type = "pull-wake", wake_stream = "w", pattern = new string('p', 300) });
        using var response = await SendAsync(HttpMethod.Put, Root + "long-pattern", body);
        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_REQUEST");
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("https://169.254.169.254/latest")]
    [InlineData("http://10.0.0.1/hook")]
    public async Task Should_answer_400_webhook_url_rejected_for_unsafe_receivers(string url)
    {
        var body = JsonSerializer.Serialize(new { type = "webhook", pattern = "a/*", webhook = new { url } });
        using var response = await SendAsync(HttpMethod.Put, Root + "unsafe", body);
        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "WEBHOOK_URL_REJECTED");
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("DELETE", "")]
    [InlineData("POST", "/streams")]
    [InlineData("POST", "/claim")]
    public async Task Should_answer_404_for_an_unknown_subscription(string method, string suffix)
    {
        var body = suffix switch { "/streams" => "{\"streams\":[\"a\"]}", "/claim" => "{\"worker\":\"w\"}", _ => null };
        using var response = await SendAsync(new HttpMethod(method), Root + "nobody" + suffix, body);
        await JsonErrorAssert.IsAsync(response, HttpStatusCode.NotFound, "SUBSCRIPTION_NOT_FOUND");
    }

    [Fact]
    public async Task Should_answer_400_for_an_id_that_is_not_one_path_segment_of_safe_characters()
    {
        using var response = await SendAsync(HttpMethod.Get, Root + "bad%20id", body: null);
        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "INVALID_REQUEST");
    }

    [Fact]
    public async Task Should_answer_409_when_a_subscription_is_put_again_with_another_configuration()
    {
        await CreateWakeStreamAsync("wake/conflict");
        using var created = await SendAsync(HttpMethod.Put, Root + "conflict", PullWake("wake/conflict", "jobs/*"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var again = await SendAsync(HttpMethod.Put, Root + "conflict", PullWake("wake/conflict", "other/*"));
        await JsonErrorAssert.IsAsync(again, HttpStatusCode.Conflict, "SUBSCRIPTION_ALREADY_EXISTS");
    }

    [Fact]
    public async Task Should_fence_a_stale_generation_and_refuse_a_claim_held_by_another_worker()
    {
        await CreateWakeStreamAsync("wake/fence");
        using (var created = await SendAsync(HttpMethod.Put, Root + "fence", PullWake("wake/fence", "work/*")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var nothing = await SendAsync(HttpMethod.Post, Root + "fence/claim", "{\"worker\":\"w1\"}"))
        {
            await JsonErrorAssert.IsAsync(nothing, HttpStatusCode.Conflict, "NO_PENDING_WORK");
        }

        await host.Stream("work/a").CreateAsync(StreamClient.Json, "{\"n\":1}");
        using var claim = await SendAsync(HttpMethod.Post, Root + "fence/claim", "{\"worker\":\"w1\"}");
        Assert.Equal(HttpStatusCode.OK, claim.StatusCode);
        using var claimed = JsonDocument.Parse(await claim.Content.ReadAsStringAsync());
        var wakeId = claimed.RootElement.GetProperty("wake_id").GetString()!;
        var generation = claimed.RootElement.GetProperty("generation").GetInt64();
        var token = claimed.RootElement.GetProperty("token").GetString()!;

        using (var busy = await SendAsync(HttpMethod.Post, Root + "fence/claim", "{\"worker\":\"w2\"}"))
        {
            await JsonErrorAssert.IsAsync(busy, HttpStatusCode.Conflict, "ALREADY_CLAIMED");
        }

        var stale = JsonSerializer.Serialize(new { wake_id = wakeId, generation = generation - 1, done = true });
        using (var fenced = await SendAsync(HttpMethod.Post, Root + "fence/ack", stale, token))
        {
            await JsonErrorAssert.IsAsync(fenced, HttpStatusCode.Conflict, "FENCED");
        }

        var current = JsonSerializer.Serialize(new { wake_id = wakeId, generation });
        using (var wrongToken = await SendAsync(HttpMethod.Post, Root + "fence/ack", current, "not-the-token"))
        {
            await JsonErrorAssert.IsAsync(wrongToken, HttpStatusCode.Unauthorized, "TOKEN_INVALID");
        }

        var beyond = JsonSerializer.Serialize(new { wake_id = wakeId, generation, acks = new[] { new { stream = "work/a", offset = "0000000000000009_0000000000000009" } } });
        using (var tooFar = await SendAsync(HttpMethod.Post, Root + "fence/ack", beyond, token))
        {
            await JsonErrorAssert.IsAsync(tooFar, HttpStatusCode.Conflict, "INVALID_OFFSET");
        }

        var unknownStream = JsonSerializer.Serialize(new { wake_id = wakeId, generation, acks = new[] { new { stream = "elsewhere", offset = "0000000000000000_0000000000000000" } } });
        using (var notLinked = await SendAsync(HttpMethod.Post, Root + "fence/ack", unknownStream, token))
        {
            await JsonErrorAssert.IsAsync(notLinked, HttpStatusCode.Conflict, "INVALID_OFFSET");
        }

        using (var release = await SendAsync(HttpMethod.Post, Root + "fence/release", current, token))
        {
            Assert.Equal(HttpStatusCode.NoContent, release.StatusCode);
        }

        // Released: the same wake is over, so its id and generation are stale now.
        using var afterRelease = await SendAsync(HttpMethod.Post, Root + "fence/release", current, token);
        await JsonErrorAssert.IsAsync(afterRelease, HttpStatusCode.Conflict, "FENCED");
    }

    [Fact]
    public async Task Should_answer_405_with_allow_for_a_method_the_endpoint_does_not_take()
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/stream/__ds/jwks.json", "{}");
        await JsonErrorAssert.IsAsync(response, HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED");
        Assert.Contains("GET", response.Content.Headers.Allow);
    }

    [Fact]
    public async Task Should_publish_the_signing_key_as_a_cacheable_jwk_set()
    {
        using var response = await host.Client.GetAsync("/v1/stream/__ds/jwks.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/jwk-set+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=300", response.Headers.CacheControl?.ToString());
        using var jwks = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var key = Assert.Single(jwks.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal("EdDSA", key.GetProperty("alg").GetString());
        Assert.StartsWith("ds_", key.GetProperty("kid").GetString());
    }

    private static string PullWake(string wakeStream, string pattern) =>
        JsonSerializer.Serialize(new { type = "pull-wake", wake_stream = wakeStream, pattern, lease_ttl_ms = 60_000 });

    private Task CreateWakeStreamAsync(string name) => host.Stream(name).CreateAsync(StreamClient.Json, "[]");

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        var response = await host.Client.SendAsync(request);
        Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        return response;
    }
}
