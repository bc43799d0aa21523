using System.Diagnostics;
using System.Net;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.ObjectStore;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>SIGTERM on a real server process: live readers are let go and the drain publishes everything.</summary>
public sealed class GracefulDrainEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Name = "drain/live-readers";

    /// <summary>Far longer than the stop may take: a live read left to run its course would show.</summary>
    private const int LiveWaitMs = 120_000;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopWithin = TimeSpan.FromSeconds(20);

    private readonly TempDirectory data = new();
    private readonly TempDirectory objects = new();
    private ServerProcess? server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        data.Dispose();
        objects.Dispose();
    }

    [Fact]
    public async Task Should_end_live_reads_and_publish_a_clean_manifest_when_sigterm_arrives_while_readers_wait()
    {
        server = ServerProcess.Start(
            "drain",
            [
                "--data-dir", data.Path, "--object-store-dir", objects.Path,
                "--long-poll-timeout-ms", LiveWaitMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--hocon", "streams.sse-max-connection-age = 120s",
            ],
            new Dictionary<string, string>(),
            output);
        await server.WaitUntilHealthyAsync(StartTimeout);
        await SendAsync(HttpMethod.Put, $"/v1/stream/{Name}", HttpStatusCode.Created);
        await SendAsync(HttpMethod.Post, $"/v1/stream/{Name}", HttpStatusCode.NoContent, "{\"n\":1}");
        var tail = await SendAsync(HttpMethod.Post, $"/v1/stream/{Name}", HttpStatusCode.NoContent, "{\"n\":2}");

        using var sse = await server.Client.GetAsync($"/v1/stream/{Name}?offset={tail}&live=sse", HttpCompletionOption.ResponseHeadersRead);
        var sseBody = sse.Content.ReadAsStringAsync();
        var longPoll = server.Client.GetAsync($"/v1/stream/{Name}?offset={tail}&live=long-poll");
        var stopping = Stopwatch.StartNew();
        var exitCode = await server.TerminateAsync(StopWithin);
        stopping.Stop();
        output.WriteLine($"stopped in {stopping.Elapsed.TotalSeconds:F1} s with two live readers waiting");

        Assert.Equal(0, exitCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await longPoll).StatusCode);
        Assert.Contains("event: control", await sseBody, StringComparison.Ordinal);
        Assert.Contains("Drain complete", server.Output, StringComparison.Ordinal);
        var manifestBytes = await new FileSystemObjectStore(objects.Path).GetAsync(ObjectStoreKeys.ManifestKey(Name), CancellationToken.None);
        var manifest = StreamManifest.Parse(manifestBytes);
        Assert.True(manifest.DrainedClean);
        Assert.Equal(2, manifest.NextPosition);
    }

    private async Task<string> SendAsync(HttpMethod method, string path, HttpStatusCode expected, string body = "")
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ContentTypes.Json);
        using var response = await server!.Client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        return response.Headers.TryGetValues("Stream-Next-Offset", out var values) ? values.Single() : string.Empty;
    }
}
