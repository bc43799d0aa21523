using System.Net;
using System.Text;
using System.Text.Json;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>
/// Stream names with characters outside the Basic Multilingual Plane (emoji, CJK extension B) are
/// encoded in UTF-16 as surrogate pairs; they must work on every path a name travels: the URL,
/// the stream list, the manifest in the object store, and a restore on a node with an empty disk.
/// </summary>
public sealed class NonBmpStreamNameEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Appends = 6;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(60);

    /// <summary>U+1F600 between ASCII letters; U+20000 (CJK extension B) with a '/' and a pair of emoji.</summary>
    private static readonly string[] Names = ["a\U0001F600b", "\U00020000/\U0001F600\U0001F600"];

    private readonly List<ServerProcess> servers = [];
    private readonly List<TempDirectory> directories = [];
    private readonly LocalDirectoryStore store = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        await store.DisposeAsync();
        foreach (var directory in directories)
        {
            directory.Dispose();
        }
    }

    [Fact]
    public async Task Should_create_append_read_list_publish_and_restore_streams_whose_names_lie_outside_the_bmp()
    {
        var writer = await StartAsync("writer", "--segment-target-rows", "2", "--segment-max-age-ms", "200");
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Names)
        {
            using (var created = await Send(writer, HttpMethod.Put, name, string.Empty))
            {
                Assert.True(created.StatusCode == HttpStatusCode.Created, $"create {name}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
            }

            for (var i = 0; i < Appends; i++)
            {
                using var appended = await Send(writer, HttpMethod.Post, name, $"{name}#{i};");
                Assert.True(appended.IsSuccessStatusCode, $"append to {name}: {(int)appended.StatusCode}");
            }

            written[name] = await ReadAllAsync(writer, name);
            Assert.Equal(string.Concat(Enumerable.Range(0, Appends).Select(i => $"{name}#{i};")), written[name]);
        }

        Assert.Equal(Names.Order(StringComparer.Ordinal), await ListAsync(writer));
        foreach (var name in Names)
        {
            await Poll.UntilAsync(() => IsFullyUploadedAsync(writer, name), PublishTimeout, $"{name} is uploaded through its tail");
        }

        Assert.Equal(0, await writer.TerminateAsync(StopTimeout));

        // The manifest records the name exactly, under the key derived from it.
        var objects = store.Open();
        foreach (var name in Names)
        {
            var manifest = await objects.GetAsync(ObjectStoreKeys.ManifestKey(name), CancellationToken.None);
            Assert.NotNull(manifest);
            Assert.Equal(name, StreamManifest.Parse(manifest).Name);
        }

        // A lazy node hydrates each stream on first touch; an eager one restores both before it is ready.
        foreach (var (label, flag) in new[] { ("lazy", "--lazy-restore"), ("eager", "--bootstrap-from-object-store") })
        {
            var node = await StartAsync(label, flag);
            foreach (var name in Names)
            {
                Assert.Equal(written[name], await ReadAllAsync(node, name));
            }

            Assert.Equal(Names.Order(StringComparer.Ordinal), await ListAsync(node));
            using (var appended = await Send(node, HttpMethod.Post, Names[0], "after restore;"))
            {
                Assert.True(appended.IsSuccessStatusCode, $"{label}: append after restore answered {(int)appended.StatusCode}");
            }

            // Published by the drain below: the next node restores it too.
            written[Names[0]] += "after restore;";
            Assert.Equal(written[Names[0]], await ReadAllAsync(node, Names[0]));

            Assert.Equal(0, await node.TerminateAsync(StopTimeout));
        }
    }

    private async Task<ServerProcess> StartAsync(string label, params string[] flags)
    {
        var dataDirectory = new TempDirectory();
        directories.Add(dataDirectory);
        var server = ServerProcess.Start(label, ["--data-dir", dataDirectory.Path, .. store.ServerArguments, .. flags], store.ServerEnvironment, output);
        servers.Add(server);
        await server.WaitUntilHealthyAsync(StartTimeout);
        return server;
    }

    private static string PathOf(string name) => "/v1/stream/" + Uri.EscapeDataString(name);

    private static Task<HttpResponseMessage> Send(ServerProcess server, HttpMethod method, string name, string body)
    {
        var request = new HttpRequestMessage(method, PathOf(name)) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        return server.Client.SendAsync(request);
    }

    private static async Task<string> ReadAllAsync(ServerProcess server, string name)
    {
        using var response = await server.Client.GetAsync(PathOf(name) + "?offset=-1");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"read of {name}: {(int)response.StatusCode} {body}");
        return body;
    }

    private static async Task<List<string>> ListAsync(ServerProcess server)
    {
        using var page = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/streams?limit=1000"));
        return page.RootElement.GetProperty("streams").EnumerateArray().Select(name => name.GetString()!).ToList();
    }

    private static async Task<bool> IsFullyUploadedAsync(ServerProcess server, string name)
    {
        using var details = JsonDocument.Parse(await server.Client.GetStringAsync(PathOf(name) + "/_details"));
        var root = details.RootElement;
        return root.GetProperty("uploaded_through").GetString() == root.GetProperty("next_offset").GetString();
    }
}
