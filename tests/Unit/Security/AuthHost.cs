using System.Net.Http.Headers;
using Streams.Tests.Unit.Api;

namespace Streams.Tests.Unit.Security;

/// <summary>
/// The real application with api-key auth on and a key file of three keys: full access, read-only,
/// and read-write limited to streams named <c>tenant-a/…</c>. The file is the test's own and is
/// deleted with the host.
/// </summary>
internal sealed class AuthHost : IAsyncDisposable
{
    public const string FullKey = "full-access-key-0001";
    public const string ReadOnlyKey = "read-only-key-0002";
    public const string TenantKey = "tenant-a-key-0003";
    public const string TenantPrefix = "tenant-a/";

    public static readonly string KeyFileText = $$"""
        { "keys": [
          { "name": "full", "key": "{{FullKey}}", "access": "read-write" },
          { "name": "reader", "key": "{{ReadOnlyKey}}", "access": "read" },
          { "name": "tenant-a", "key": "{{TenantKey}}", "access": "read-write", "prefix": "{{TenantPrefix}}" }
        ] }
        """;

    private readonly string keyDirectory = Path.Combine(Path.GetTempPath(), $"streams-keys-{Guid.NewGuid():N}");
    private readonly ApiHost host;

    public AuthHost(IReadOnlyDictionary<string, string>? moreSettings = null)
    {
        Directory.CreateDirectory(keyDirectory);
        KeyFile = Path.Combine(keyDirectory, "keys.json");
        File.WriteAllText(KeyFile, KeyFileText);
        var settings = new Dictionary<string, string>
        {
            ["Streams:AuthStrategy"] = "api-key",
            ["Streams:ApiKeyFile"] = KeyFile,
            // The in-memory test server does not end a request when its client lets go of the
            // response, so disposing an SSE response waits for the server to end the event stream:
            // a short connection age keeps that wait at a second instead of a minute.
            ["Streams:Hocon"] = "streams.sse-max-connection-age = 1s",
        };
        foreach (var (key, value) in moreSettings ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        host = new ApiHost(settings);
    }

    public string KeyFile { get; }

    public HttpClient Client => host.Client;

    /// <summary>Sends <paramref name="request"/> with <paramref name="key"/> as a bearer token (none when null).</summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string? key)
    {
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        // Headers only: an SSE response would otherwise be read until the server ends it.
        return host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public async ValueTask DisposeAsync()
    {
        await host.DisposeAsync();
        Directory.Delete(keyDirectory, recursive: true);
    }
}
