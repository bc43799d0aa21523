using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Streams.Tests.Unit.TestSupport;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// The real application on the in-memory test server, with its own temp data directory, a short
/// long-poll timeout and a small append limit. Disposing it stops the host and deletes the directory.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const int MaxAppendBytes = 1024;
    public const int LongPollTimeoutMs = 200;

    private readonly TempDataDirectory directory = new("api");
    private readonly WebApplicationFactory<Program> root = new();

    /// <param name="settings">More configuration keys (<c>Streams:AuthStrategy</c>, ...) for this host.</param>
    public ApiHost(IReadOnlyDictionary<string, string>? settings = null)
    {
        var factory = root.WithWebHostBuilder(builder =>
        {
            builder
                .UseSetting("Streams:DataDir", directory.Path)
                .UseSetting("Streams:LongPollTimeoutMs", LongPollTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .UseSetting("Streams:MaxAppendBytes", MaxAppendBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                builder.UseSetting(key, value);
            }
        });
        Client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
    }

    public HttpClient Client { get; }

    public string DataDirectory => directory.Path;

    public StreamClient Stream(string name) => new(Client, $"/v1/stream/{name}");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        // Disposes the derived factory too, which stops the host, its actor system and the WAL writer.
        await root.DisposeAsync();
        directory.Dispose();
    }
}
