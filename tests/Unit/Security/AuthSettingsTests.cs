using System.Net;
using Streams.Api;
using Streams.Api.Security;
using Streams.Tests.Unit.Api;
using Xunit;

namespace Streams.Tests.Unit.Security;

/// <summary>Start-up rules of auth: which combinations of flags, key and address a server accepts.</summary>
public sealed class AuthSettingsTests
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.0.2.10")]
    public void Should_refuse_a_non_loopback_address_when_neither_auth_flag_is_given(string host)
    {
        var problems = new ServerOptions { Host = host }.Validate().ToList();

        Assert.Contains(problems, problem => problem.Contains("--auth-strategy api-key or an explicit --no-auth", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0.0.0.0", "none")]
    [InlineData("0.0.0.0", "api-key")]
    [InlineData("127.0.0.1", null)]
    [InlineData("::1", null)]
    public void Should_accept_an_address_when_auth_is_decided_or_it_is_loopback(string host, string? strategy)
    {
        Assert.Empty(new ServerOptions { Host = host, AuthStrategy = strategy }.Validate());
    }

    [Fact]
    public void Should_map_no_auth_and_the_auth_strategy_flags_to_their_settings()
    {
        var noAuth = CommandLine.Parse(["--no-auth", "--health-requires-auth"], _ => "1", out var noAuthProblems);
        var apiKey = CommandLine.Parse(["--auth-strategy", "api-key", "--api-key-file", "keys.json", "--cors-origins", "https://a.example"], _ => null, out var apiKeyProblems);

        Assert.Empty(noAuthProblems);
        Assert.Empty(apiKeyProblems);
        // DS_LAZY_RESTORE=1 (every variable answers "1" here) must not leak into the auth switch.
        Assert.Equal("none", noAuth["Streams:AuthStrategy"]);
        Assert.Equal("true", noAuth["Streams:HealthRequiresAuth"]);
        Assert.Equal("api-key", apiKey["Streams:AuthStrategy"]);
        Assert.Equal("keys.json", apiKey["Streams:ApiKeyFile"]);
        Assert.Equal("https://a.example", apiKey["Streams:CorsOrigins"]);
    }

    [Theory]
    [InlineData(null, "needs the API_KEY environment variable")]
    [InlineData("short", "at least 10 characters")]
    public void Should_refuse_api_key_auth_without_a_usable_key(string? apiKey, string expected)
    {
        var problems = new List<string>();
        var settings = AuthSettings.From(new ServerOptions { AuthStrategy = "api-key" }, _ => apiKey, problems);

        Assert.Null(settings);
        Assert.Contains(problems, problem => problem.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Should_keep_the_api_key_untrimmed()
    {
        var settings = AuthSettings.From(new ServerOptions { AuthStrategy = "api-key" }, _ => " spaced-key-value ", []);
        var ring = new ApiKeyRing(settings!.LoadKeys());

        Assert.NotNull(ring.Find(" spaced-key-value "));
        Assert.Null(ring.Find("spaced-key-value"));
    }

    [Theory]
    [InlineData("{}", "\"keys\" array")]
    [InlineData("{\"keys\":[{\"key\":\"0123456789\"}]}", "\"access\" must be")]
    [InlineData("{\"keys\":[{\"key\":\"short\",\"access\":\"read\"}]}", "shorter than 10")]
    [InlineData("{\"keys\":[{\"access\":\"read\"}]}", "exactly one of")]
    [InlineData("{\"keys\":[{\"sha256\":\"abc\",\"access\":\"read\"}]}", "64 hex digits")]
    [InlineData("{\"keys\":[{\"key\":\"0123456789\",\"access\":\"admin\"}]}", "'admin'")]
    [InlineData("[1,2]", "\"keys\" array")]
    [InlineData("{ nope", "not valid JSON")]
    public void Should_name_the_problem_when_the_key_file_is_wrong(string text, string expected)
    {
        var exception = Assert.Throws<FormatException>(() => ApiKeyFile.Parse(text, "keys.json"));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_accept_a_key_given_by_its_sha256()
    {
        var hash = Convert.ToHexString(ApiKey.Hash("hashed-key-value"));
        var keys = ApiKeyFile.Parse($"{{\"keys\":[{{\"name\":\"h\",\"sha256\":\"{hash}\",\"access\":\"read\",\"prefix\":\"p/\"}}]}}", "keys.json");
        var key = new ApiKeyRing(keys).Find("hashed-key-value");

        Assert.NotNull(key);
        Assert.Equal(KeyAccess.Read, key.Access);
        Assert.Equal("p/", key.Prefix);
    }

    [Fact]
    public async Task Should_require_a_key_for_health_when_configured()
    {
        await using var host = new AuthHost(new Dictionary<string, string> { ["Streams:HealthRequiresAuth"] = "true" });

        using var open = await host.Client.GetAsync("/health");
        using var keyed = await host.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/health"), AuthHost.ReadOnlyKey);

        await JsonErrorAssert.IsAsync(open, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
    }

    [Fact]
    public async Task Should_allow_only_the_listed_origins_when_origins_are_configured()
    {
        await using var host = new AuthHost(new Dictionary<string, string> { ["Streams:CorsOrigins"] = "https://app.example.com, https://other.example.com/" });

        foreach (var (origin, allowed) in new[] { ("https://app.example.com", true), ("https://other.example.com", true), ("https://evil.example.com", false) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
            request.Headers.Add("Origin", origin);
            using var response = await host.Client.SendAsync(request);

            Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Single() == origin);
            Assert.Contains("Origin", response.Headers.Vary);
        }
    }

    [Fact]
    public async Task Should_allow_every_origin_without_auth()
    {
        await using var host = new ApiHost();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Add("Origin", "https://anywhere.example.com");
        using var response = await host.Client.SendAsync(request);

        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}
