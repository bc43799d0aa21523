using System.Net;
using System.Text.Json;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>Checks that a response is the server's JSON error: <c>{"error":{"code","message"}}</c>.</summary>
internal static class JsonErrorAssert
{
    public static async Task IsAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Is(body, code);
    }

    public static void Is(string body, string code)
    {
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), $"the error has no message: {body}");
    }

    /// <summary>The error code of a JSON error body, or null when the body is not one.</summary>
    public static string? CodeOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var error) &&
                error.TryGetProperty("code", out var code) &&
                error.TryGetProperty("message", out var message) &&
                message.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
