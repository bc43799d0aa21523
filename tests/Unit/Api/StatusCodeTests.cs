using System.Text.Json;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// The status-code table against the real application. Every response, errors included, must carry
/// the browser security headers, never be a 500, and every error must have a JSON error body.
/// </summary>
public sealed class StatusCodeTests : IAsyncLifetime
{
    private ApiHost host = null!;

    public static TheoryData<string> RowNames => [.. StatusTable.Rows.Keys];

    public Task InitializeAsync()
    {
        host = new ApiHost();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Theory]
    [MemberData(nameof(RowNames))]
    public async Task Should_answer_the_tabled_status_when_a_request_matches_a_row(string row)
    {
        var expected = StatusTable.Rows[row];
        var stream = host.Stream($"table/{row}");

        using var response = await expected.Send(stream);

        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status != 500, $"{row}: 500 with body {body}");
        Assert.True(expected.Status == status, $"{row}: expected {expected.Status}, got {status} with body {body}");
        AssertSecurityHeaders(response);
        foreach (var (name, value) in expected.Headers ?? [])
        {
            var actual = HeaderValue(response, name);
            Assert.True(actual is not null, $"{row}: header {name} is missing");
            if (value is not null)
            {
                Assert.Equal(value, actual);
            }
        }

        if (status >= 400 && response.RequestMessage?.Method != HttpMethod.Head)
        {
            AssertErrorBody(response, body, expected.ErrorCode);
        }

        expected.Check?.Invoke(stream, response);
    }

    [Fact]
    public async Task Should_keep_its_data_in_the_configured_directory_when_hosted_by_the_test_server()
    {
        await host.Stream("where").CreateAsync();

        Assert.True(File.Exists(Path.Combine(host.DataDirectory, Streams.Actors.Storage.StreamDatabase.FileName)));
    }

    [Fact]
    public async Task Should_answer_with_data_not_304_when_the_etag_predates_a_delete_and_recreate()
    {
        var stream = host.Stream("recreated");
        await stream.CreateAsync();
        await stream.AppendAsync("old");
        using var before = await stream.Get("?offset=-1");
        var oldTag = before.Headers.ETag!.ToString();
        using (var deleted = await stream.Delete())
        {
            Assert.Equal(204, (int)deleted.StatusCode);
        }

        await stream.CreateAsync();
        await stream.AppendAsync("new");
        using var after = await stream.Get("?offset=-1", ("If-None-Match", oldTag));

        Assert.Equal(200, (int)after.StatusCode);
        Assert.Equal("new", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_answer_with_a_json_error_and_security_headers_when_a_stream_is_missing()
    {
        using var response = await host.Stream("nowhere").Get();

        Assert.Equal(404, (int)response.StatusCode);
        AssertSecurityHeaders(response);
        AssertErrorBody(response, await response.Content.ReadAsStringAsync(), "stream_not_found");
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", HeaderValue(response, "X-Content-Type-Options"));
        Assert.Contains(HeaderValue(response, "Cross-Origin-Resource-Policy"), new[] { "cross-origin", "same-site", "same-origin" });
    }

    private static void AssertErrorBody(HttpResponseMessage response, string body, string? expectedCode)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error");
        var code = error.GetProperty("code").GetString();
        Assert.False(string.IsNullOrEmpty(code), $"empty error code in {body}");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()), $"empty error message in {body}");
        if (expectedCode is not null)
        {
            Assert.Equal(expectedCode, code);
        }
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;
}
