using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Streams.Tests.Unit.Durability;
using Xunit;

namespace Streams.Tests.Unit.Telemetry;

/// <summary>
/// <c>/metrics</c> of the real server process with api-key auth on: closed without a key, and its
/// append counters rise by exactly the appends and bytes sent between two scrapes.
/// </summary>
public sealed partial class MetricsScrapeTests : IAsyncLifetime
{
    private const string ApiKey = "metrics-test-key-0001";
    private const int Appends = 25;

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-metrics-{Guid.NewGuid():N}");
    private readonly HttpClient client = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ServerProcess server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(dataDirectory);
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        server = await ServerProcess.StartAsync(
            dataDirectory,
            longPollTimeoutMs: 500,
            ["--auth-strategy", "api-key"],
            new Dictionary<string, string> { ["API_KEY"] = ApiKey },
            budget.Token);
        client.BaseAddress = server.BaseAddress;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Should_answer_401_to_a_scrape_without_the_key()
    {
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using var response = await anonymous.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Should_raise_the_append_counter_and_bytes_by_exactly_what_was_sent()
    {
        using (var created = await client.PutAsync("/v1/stream/metered", Text("")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var before = await ScrapeAsync();
        var random = new Random(11);
        long sentBytes = 0;
        for (var i = 0; i < Appends; i++)
        {
            var body = new string('x', random.Next(1, 3000));
            sentBytes += body.Length;
            using var appended = await client.PostAsync("/v1/stream/metered", Text(body));
            Assert.Equal(HttpStatusCode.NoContent, appended.StatusCode);
        }

        var after = await ScrapeAsync();

        Assert.Equal(Appends, Value(after, "streams_appends_total", "accepted") - Value(before, "streams_appends_total", "accepted"));
        Assert.Equal(sentBytes, Value(after, "streams_append_bytes_total", "accepted") - Value(before, "streams_append_bytes_total", "accepted"));
        Assert.True(Value(after, "streams_wal_commit_duration_seconds_count", null) >= Appends, "every append is in a WAL commit");
        Assert.True(Value(after, "streams_active", null) >= 1, "the stream's owner is alive");
        Assert.Contains("http_server_request_duration_seconds_bucket", after, StringComparison.Ordinal);
    }

    private async Task<string> ScrapeAsync()
    {
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static StringContent Text(string body)
    {
        var content = new StringContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        return content;
    }

    /// <summary>The sample of <paramref name="metric"/> (with the given outcome label, if any); 0 when absent.</summary>
    private static long Value(string scrape, string metric, string? outcome)
    {
        foreach (Match sample in SamplePattern().Matches(scrape))
        {
            if (sample.Groups["name"].Value != metric ||
                (outcome is not null && !sample.Groups["labels"].Value.Contains($"outcome=\"{outcome}\"", StringComparison.Ordinal)))
            {
                continue;
            }

            return (long)double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return 0;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex SamplePattern();
}
