using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Streams.Tests.Unit.Durability;
using Xunit;

namespace Streams.Tests.Unit.Telemetry;

/// <summary>
/// <c>--log-format json</c> on the real server process: console lines are JSON objects, a line
/// written while a request is handled carries its request id and stream name, and no line holds a key.
/// </summary>
public sealed class JsonLogTests : IAsyncLifetime
{
    private const string FullKey = "json-logs-full-key-0001";
    private const string ReaderKey = "json-logs-reader-key-0002";

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-jsonlogs-{Guid.NewGuid():N}");
    private ServerProcess server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(dataDirectory, "data"));
        var keyFile = Path.Combine(dataDirectory, "keys.json");
        await File.WriteAllTextAsync(keyFile, $$"""{ "keys": [ { "name": "reader", "key": "{{ReaderKey}}", "access": "read" } ] }""");
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        server = await ServerProcess.StartAsync(
            Path.Combine(dataDirectory, "data"),
            longPollTimeoutMs: 500,
            ["--auth-strategy", "api-key", "--api-key-file", keyFile, "--log-format", "json"],
            new Dictionary<string, string> { ["API_KEY"] = FullKey },
            budget.Token);
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Should_write_json_lines_with_the_request_id_and_stream_and_never_a_key()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using (var create = new HttpRequestMessage(HttpMethod.Put, "/v1/stream/logged/one"))
        {
            create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FullKey);
            using var created = await client.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var append = new HttpRequestMessage(HttpMethod.Post, "/v1/stream/logged/one") { Content = new StringContent("x") })
        {
            append.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ReaderKey);
            using var refused = await client.SendAsync(append);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // The refusal is logged by the request; wait for the line rather than racing the console.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        JsonElement refusal;
        while (!TryFindRefusal(out refusal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no JSON refusal line in:\n{server.RecentOutput}");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        var scopes = refusal.GetProperty("Scopes").EnumerateArray().ToList();
        Assert.Contains(scopes, scope => scope.ValueKind == JsonValueKind.Object &&
            scope.TryGetProperty("Stream", out var stream) && stream.GetString() == "logged/one" &&
            scope.TryGetProperty("RequestId", out var id) && !string.IsNullOrEmpty(id.GetString()));
        Assert.DoesNotContain(FullKey, server.RecentOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(ReaderKey, server.RecentOutput, StringComparison.Ordinal);
    }

    private bool TryFindRefusal(out JsonElement line)
    {
        foreach (var text in server.RecentOutput.Split('\n'))
        {
            if (!text.StartsWith('{'))
            {
                continue;
            }

            using var document = JsonDocument.Parse(text);
            if (document.RootElement.GetProperty("Message").GetString()?.Contains("Refused POST", StringComparison.Ordinal) == true)
            {
                line = document.RootElement.Clone();
                return true;
            }
        }

        line = default;
        return false;
    }
}
