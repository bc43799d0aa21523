using System.Net;
using System.Net.Http.Headers;
using Streams.Tests.Unit.Api;
using Xunit;

namespace Streams.Tests.Unit.Security;

/// <summary>
/// Api-key auth over every route: 401 without a key or with a wrong one, 403 outside a key's scope
/// (read-only, or a stream prefix), and the route working with a key that covers it.
/// </summary>
public sealed class AuthTests : IAsyncLifetime
{
    private AuthHost host = null!;

    public Task InitializeAsync()
    {
        host = new AuthHost();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    public static TheoryData<string> RouteLabels()
    {
        var data = new TheoryData<string>();
        foreach (var route in AuthRoutes.All)
        {
            data.Add(route.Label);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RouteLabels))]
    public async Task Should_answer_401_unauthorized_when_a_request_has_no_key_or_a_wrong_one(string label)
    {
        var route = Route(label);
        foreach (var authorization in new[] { null, "Bearer not-a-known-key", $"Basic {AuthHost.FullKey}", $"Bearer {AuthHost.FullKey[..^1]}", "Bearer" })
        {
            using var request = route.Build($"{AuthHost.TenantPrefix}s");
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await host.Client.SendAsync(request);

            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{label} with '{authorization}': {(int)response.StatusCode}");
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
            if (request.Method != HttpMethod.Head)
            {
                await JsonErrorAssert.IsAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
            }
        }
    }

    [Theory]
    [MemberData(nameof(RouteLabels))]
    public async Task Should_answer_403_forbidden_when_a_prefixed_key_is_used_outside_its_prefix(string label)
    {
        using var response = await host.SendAsync(Route(label).Build("tenant-b/s"), AuthHost.TenantKey);

        await AssertForbiddenAsync(response, label);
    }

    [Theory]
    [MemberData(nameof(RouteLabels))]
    public async Task Should_answer_403_forbidden_when_a_read_only_key_writes(string label)
    {
        var route = Route(label);
        using var response = await host.SendAsync(route.Build("readers/s"), AuthHost.ReadOnlyKey);

        if (route.Writes)
        {
            await AssertForbiddenAsync(response, label);
        }
        else
        {
            Assert.NotEqual(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task Should_serve_every_route_when_the_key_covers_it()
    {
        foreach (var (key, name) in new[] { (AuthHost.FullKey, "anyone/s"), (AuthHost.TenantKey, $"{AuthHost.TenantPrefix}s") })
        {
            var expected = new Dictionary<string, HttpStatusCode>
            {
                ["create"] = HttpStatusCode.Created,
                ["append"] = HttpStatusCode.NoContent,
                ["read"] = HttpStatusCode.OK,
                ["long-poll"] = HttpStatusCode.NoContent,
                ["sse"] = HttpStatusCode.OK,
                ["head"] = HttpStatusCode.OK,
                ["details"] = HttpStatusCode.OK,
                ["fork"] = HttpStatusCode.Created,
                ["delete"] = HttpStatusCode.NoContent,
            };
            if (key == AuthHost.FullKey)
            {
                expected["list"] = HttpStatusCode.OK;
                expected["metrics"] = HttpStatusCode.OK;
                expected["unknown route"] = HttpStatusCode.NotFound;
            }

            foreach (var route in AuthRoutes.All.Where(route => expected.ContainsKey(route.Label)))
            {
                using var request = route.Build(name);
                using var response = await host.SendAsync(request, key);
                Assert.True(
                    response.StatusCode == expected[route.Label],
                    $"{route.Label} on {name}: expected {(int)expected[route.Label]}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    [Fact]
    public async Task Should_let_a_read_only_key_read_what_a_writer_appended()
    {
        using (var created = await host.SendAsync(AuthRoutes.WithBody(HttpMethod.Put, "/v1/stream/shared", "hello"), AuthHost.FullKey))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var read = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/stream/shared?offset=-1"), AuthHost.ReadOnlyKey);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("hello", await read.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_answer_403_when_a_prefixed_key_forks_a_stream_outside_its_prefix()
    {
        using (var created = await host.SendAsync(AuthRoutes.WithBody(HttpMethod.Put, "/v1/stream/tenant-b/source", "secret"), AuthHost.FullKey))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var fork = new HttpRequestMessage(HttpMethod.Put, $"/v1/stream/{AuthHost.TenantPrefix}copy");
        fork.Headers.Add("Stream-Forked-From", "/v1/stream/tenant-b/source");
        using var response = await host.SendAsync(fork, AuthHost.TenantKey);

        await AssertForbiddenAsync(response, "fork from another prefix");
    }

    [Fact]
    public async Task Should_keep_health_open_by_default()
    {
        using var response = await host.Client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Should_answer_preflights_without_a_key_and_allow_no_origin_by_default()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/stream/x");
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, x-made-up");
        using var response = await host.Client.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        var allowed = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers"));
        Assert.Contains("Authorization", allowed, StringComparison.Ordinal);
        Assert.DoesNotContain("x-made-up", allowed, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Should_accept_a_key_added_to_the_file_and_keep_the_old_keys_when_the_file_breaks()
    {
        const string addedKey = "added-later-key-0004";
        await File.WriteAllTextAsync(host.KeyFile, AuthHost.KeyFileText.Replace(
            "\"keys\": [",
            $"\"keys\": [ {{ \"name\": \"added\", \"key\": \"{addedKey}\", \"access\": \"read\" }},",
            StringComparison.Ordinal));
        await UntilAsync(async () => (await ListAsync(addedKey)) == HttpStatusCode.OK, "the added key to be accepted");

        await File.WriteAllTextAsync(host.KeyFile, "{ not json");
        // A broken file is refused and the keys in force stay; give the reload time to happen.
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal(HttpStatusCode.OK, await ListAsync(addedKey));
        Assert.Equal(HttpStatusCode.OK, await ListAsync(AuthHost.FullKey));
    }

    private async Task<HttpStatusCode> ListAsync(string key)
    {
        using var response = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/streams"), key);
        return response.StatusCode;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    private static async Task AssertForbiddenAsync(HttpResponseMessage response, string label)
    {
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{label}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (response.RequestMessage?.Method != HttpMethod.Head)
        {
            await JsonErrorAssert.IsAsync(response, HttpStatusCode.Forbidden, "forbidden");
        }
    }

    private static AuthRoutes.Route Route(string label) => AuthRoutes.All.Single(route => route.Label == label);
}
