using System.Net;
using System.Text;
using System.Text.Json;
using Streams.Actors.Domain;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>
/// Restore from object storage with real server processes: a writer node fills the store, stops
/// (SIGTERM drain, or kill -9), and new nodes start on empty data directories — lazily (serving at
/// once, hydrating a stream on first touch) or eagerly (restoring everything before they are
/// ready). Each scenario runs against the local-directory store and against the real S3 test server
/// (Ceph RGW; see <see cref="S3TestServer"/> for when those tests skip or fail).
/// </summary>
public sealed class LazyRestoreEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Streams = 20;
    private const int AppendsPerStream = 7;
    private const int ColdReads = 5;

    /// <summary>Empty streams besides the written ones: enough that the eager restore is seen restoring.</summary>
    private const int Backlog = 600;
    private const int EagerParallelism = 2;
    private const string Unwritten = "e2e/never-written";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(60);

    /// <summary>A lazy node has nothing to restore before it is ready: it must be healthy this soon.</summary>
    private static readonly TimeSpan LazyReadyWithin = TimeSpan.FromSeconds(15);

    /// <summary>Small segments, sealed quickly: published within a second of an append.</summary>
    private static readonly string[] WriterFlags = ["--segment-target-rows", "5", "--segment-max-age-ms", "200"];

    private readonly List<ServerProcess> servers = [];
    private readonly List<TempDirectory> directories = [];
    private EndToEndStore? store;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        if (store is not null)
        {
            await store.DisposeAsync();
        }

        foreach (var directory in directories)
        {
            directory.Dispose();
        }
    }

    [Fact]
    public async Task Should_serve_drained_streams_from_new_nodes_restoring_lazily_or_eagerly_when_nodes_share_a_directory_store()
    {
        store = new LocalDirectoryStore();
        await DrainedWriterThenRestoringNodesAsync();
    }

    [S3Fact]
    public async Task Should_serve_drained_streams_from_new_nodes_restoring_lazily_or_eagerly_when_nodes_share_an_s3_bucket()
    {
        store = await S3BucketStore.CreateAsync();
        await DrainedWriterThenRestoringNodesAsync();
    }

    [Fact]
    public async Task Should_read_everything_published_and_append_in_a_newer_epoch_when_the_writer_was_killed_and_nodes_share_a_directory_store()
    {
        store = new LocalDirectoryStore();
        await KilledWriterThenLazyNodeAsync();
    }

    [S3Fact]
    public async Task Should_read_everything_published_and_append_in_a_newer_epoch_when_the_writer_was_killed_and_nodes_share_an_s3_bucket()
    {
        store = await S3BucketStore.CreateAsync();
        await KilledWriterThenLazyNodeAsync();
    }

    [S3Fact]
    public async Task Should_not_change_what_readers_see_when_a_killed_writer_comes_back_with_its_old_disk_after_another_node_took_over()
    {
        store = await S3BucketStore.CreateAsync();
        const string name = "e2e/stale-owner";
        const int sealedRecords = 5;

        // The old owner: five records fill a segment and are published; two more are acknowledged
        // but stay in its WAL (no seal by age for ten minutes) when it is killed.
        var oldDisk = new TempDirectory();
        directories.Add(oldDisk);
        string[] holdTailFlags = ["--segment-target-rows", $"{sealedRecords}", "--segment-max-age-ms", "600000"];
        var oldOwner = StartOn(oldDisk, "old-owner", holdTailFlags);
        await oldOwner.WaitUntilHealthyAsync(StartTimeout);
        await CreateAsync(oldOwner, name, ContentTypes.Json);
        for (var r = 0; r < sealedRecords; r++)
        {
            await AppendAsync(oldOwner, name, ContentTypes.Json, JsonRecord(name, r));
        }

        await Poll.UntilAsync(() => IsFullyUploadedAsync(oldOwner, name), PublishTimeout, $"{name} is uploaded through its first segment");
        await AppendAsync(oldOwner, name, ContentTypes.Json, JsonRecord(name, 100));
        await AppendAsync(oldOwner, name, ContentTypes.Json, JsonRecord(name, 101));
        Assert.False(await IsFullyUploadedAsync(oldOwner, name), "the old owner's last two records must still be unpublished when it is killed");
        await oldOwner.KillAsync();

        // The new owner takes the stream over from the bucket and writes its own history over the
        // offsets the old owner's unpublished tail had used.
        var newOwner = Start("new-owner", ["--lazy-restore", .. WriterFlags]);
        await newOwner.WaitUntilHealthyAsync(StartTimeout);
        for (var r = 200; r < 203; r++)
        {
            await AppendAsync(newOwner, name, ContentTypes.Json, JsonRecord(name, r));
        }

        await Poll.UntilAsync(() => IsFullyUploadedAsync(newOwner, name), PublishTimeout, $"{name} is uploaded by the new owner");
        var newHistory = await ReadAllAsync(newOwner, name);
        var newRecords = JsonSerializer.Deserialize<JsonElement[]>(newHistory.Body)!.Select(e => e.GetProperty("record").GetInt32()).ToList();
        Assert.Equal([0, 1, 2, 3, 4, 200, 201, 202], newRecords);

        // The old owner comes back with its old disk and seals and uploads its stale tail at once.
        var returned = StartOn(oldDisk, "old-owner-again", WriterFlags);
        await returned.WaitUntilHealthyAsync(StartTimeout);
        await Poll.UntilAsync(
            () => Task.FromResult(returned.Output.Contains($"Fenced: the manifest of stream '{name}'", StringComparison.Ordinal)),
            PublishTimeout,
            "the returned old owner finds the manifest replaced and gives the stream up");

        // Every reader sees the new owner's history: the new owner itself, then, once it has drained
        // (a clean manifest, so a reader that hydrates keeps its epoch), a node restoring from the
        // bucket afresh, and the returned old owner.
        var stillServed = await ReadAllAsync(newOwner, name);
        Assert.True(newHistory.Body.AsSpan().SequenceEqual(stillServed.Body), $"the new owner serves {Encoding.UTF8.GetString(stillServed.Body)}");
        Assert.Equal(newHistory.NextOffset, stillServed.NextOffset);
        Assert.Equal(0, await newOwner.TerminateAsync(StopTimeout));

        var fresh = Start("fresh-reader", "--lazy-restore");
        await fresh.WaitUntilHealthyAsync(StartTimeout);
        var freshRead = await ReadAllAsync(fresh, name);
        Assert.True(newHistory.Body.AsSpan().SequenceEqual(freshRead.Body), $"a fresh node serves {Encoding.UTF8.GetString(freshRead.Body)}");
        Assert.Equal(newHistory.NextOffset, freshRead.NextOffset);

        // The old owner restored the newer manifest as soon as it was fenced, while the new owner was
        // still running: that is a take-over of an unclean manifest, so its copy opens a later epoch
        // at the same position. The records and their positions are the new owner's.
        var returnedRead = await ReadAllAsync(returned, name);
        Assert.True(newHistory.Body.AsSpan().SequenceEqual(returnedRead.Body), $"the returned old owner serves {Encoding.UTF8.GetString(returnedRead.Body)}");
        Assert.True(Offset.TryParse(returnedRead.NextOffset, out var returnedTail), returnedRead.NextOffset);
        Assert.True(Offset.TryParse(newHistory.NextOffset, out var newTail), newHistory.NextOffset);
        Assert.Equal(newTail.Position, returnedTail.Position);

        Assert.Equal(0, await returned.TerminateAsync(StopTimeout));
        Assert.Equal(0, await fresh.TerminateAsync(StopTimeout));
    }

    // ---- scenarios -------------------------------------------------------------------------------

    private async Task DrainedWriterThenRestoringNodesAsync()
    {
        // Node A writes, reads everything back, and stops gracefully.
        var writer = Start("writer", [.. WriterFlags]);
        await writer.WaitUntilHealthyAsync(StartTimeout);
        var written = new Dictionary<string, Served>(StringComparer.Ordinal);
        for (var i = 0; i < Streams; i++)
        {
            var name = StreamName(i);
            await WriteStreamAsync(writer, name, IsJson(i), i);
            written[name] = await ReadAllAsync(writer, name);
        }

        Assert.Equal(0, await writer.TerminateAsync(StopTimeout));
        Assert.Contains("Drain complete", writer.Output, StringComparison.Ordinal);
        await store!.SeedEmptyStreamsAsync("backlog/", Backlog);

        // Node B: lazy, on an empty disk.
        var lazy = Start("lazy", "--lazy-restore");
        var lazyHealth = await lazy.WaitUntilHealthyAsync(StartTimeout);
        output.WriteLine($"lazy node: /health 200 after {lazyHealth.ReadyAfter.TotalMilliseconds:F0} ms; responses before it: [{string.Join(", ", lazyHealth.StatusesBefore)}]");
        Assert.Empty(lazyHealth.StatusesBefore);
        Assert.True(lazyHealth.ReadyAfter < LazyReadyWithin, $"the lazy node took {lazyHealth.ReadyAfter} to be ready");
        Assert.Empty(await LocalStreamsAsync(lazy));

        var touched = Enumerable.Range(0, ColdReads).Select(i => StreamName(i * (Streams / ColdReads))).ToList();
        foreach (var name in touched)
        {
            var served = await ReadAllAsync(lazy, name);
            Assert.Equal(written[name].Body, served.Body);
            Assert.Equal(written[name].NextOffset, served.NextOffset);
            Assert.Equal(written[name].ContentType, served.ContentType);
        }

        using (var missing = await lazy.Client.GetAsync($"/v1/stream/{Unwritten}?offset=-1"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        Assert.Equal(touched.Order(StringComparer.Ordinal), await LocalStreamsAsync(lazy));
        Assert.Equal(0, await lazy.TerminateAsync(StopTimeout));

        // Node C: eager, on an empty disk: 503 "restoring" until every manifest is restored.
        // One stream per commit: a restore paced by one fsync per stream lasts long enough to be seen
        // restoring; batched, 620 streams of a local store can be restored before the listener is up.
        var eager = Start(
            "eager",
            "--bootstrap-from-object-store",
            "--restore-parallelism",
            EagerParallelism.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--hocon",
            "streams.restore.streams-per-commit = 1");
        var eagerHealth = await eager.WaitUntilHealthyAsync(StartTimeout);
        output.WriteLine($"eager node: /health 200 after {eagerHealth.ReadyAfter.TotalMilliseconds:F0} ms, {eagerHealth.StatusesBefore.Count} responses before it ({eagerHealth.LastBodyBefore})");
        Assert.NotEmpty(eagerHealth.StatusesBefore);
        Assert.All(eagerHealth.StatusesBefore, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        Assert.Contains("\"status\":\"restoring\"", eagerHealth.LastBodyBefore, StringComparison.Ordinal);
        Assert.Contains($"\"total\":{Streams + Backlog}", eagerHealth.LastBodyBefore, StringComparison.Ordinal);
        Assert.Contains($"restoring {EagerParallelism} at a time", eager.Output, StringComparison.Ordinal);
        // The console logger writes on its own thread: the line may land just after /health turned 200.
        var completeLine = $"Restore complete: {Streams + Backlog} streams restored, 0 quarantined";
        await Poll.UntilAsync(
            () => Task.FromResult(eager.Output.Contains(completeLine, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            $"the log line '{completeLine}'");

        var local = await LocalStreamsAsync(eager);
        Assert.Equal(Streams + Backlog, local.Count);
        Assert.Subset(local.ToHashSet(StringComparer.Ordinal), written.Keys.ToHashSet(StringComparer.Ordinal));
        foreach (var name in written.Keys)
        {
            Assert.Equal(written[name].Body, (await ReadAllAsync(eager, name)).Body);
        }

        Assert.Equal(0, await eager.TerminateAsync(StopTimeout));
    }

    private async Task KilledWriterThenLazyNodeAsync()
    {
        const int streams = 3;
        const int records = 12;
        var writer = Start("writer", [.. WriterFlags]);
        await writer.WaitUntilHealthyAsync(StartTimeout);
        var offsetsFromWriter = new List<Offset>();
        var names = Enumerable.Range(0, streams).Select(i => $"e2e/killed/{i}").ToList();
        foreach (var name in names)
        {
            await CreateAsync(writer, name, ContentTypes.Json);
            for (var r = 0; r < records; r++)
            {
                offsetsFromWriter.Add(await AppendAsync(writer, name, ContentTypes.Json, JsonRecord(name, r)));
            }
        }

        // Everything so far is published: each stream's manifest covers its tail.
        var published = new Dictionary<string, Served>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            await Poll.UntilAsync(() => IsFullyUploadedAsync(writer, name), PublishTimeout, $"{name} is uploaded through its tail");
            published[name] = await ReadAllAsync(writer, name);
        }

        // Acknowledged, then the process dies before these can be sealed and uploaded.
        var tail = names[0];
        offsetsFromWriter.Add(await AppendAsync(writer, tail, ContentTypes.Json, JsonRecord(tail, records)));
        var lastFromWriter = await AppendAsync(writer, tail, ContentTypes.Json, JsonRecord(tail, records + 1));
        offsetsFromWriter.Add(lastFromWriter);
        await writer.KillAsync();
        Assert.All(offsetsFromWriter, offset => Assert.Equal(0, offset.Epoch));

        var lazy = Start("lazy", "--lazy-restore");
        await lazy.WaitUntilHealthyAsync(StartTimeout);
        foreach (var name in names)
        {
            var served = await ReadAllAsync(lazy, name);
            var expected = JsonSerializer.Deserialize<JsonElement[]>(published[name].Body)!;
            var actual = JsonSerializer.Deserialize<JsonElement[]>(served.Body)!;
            // Everything published is there, in order; the unpublished tail may or may not have made it.
            Assert.True(actual.Length >= expected.Length, $"{name}: {actual.Length} records served, {expected.Length} were published");
            Assert.Equal(expected.Select(e => e.GetRawText()), actual.Take(expected.Length).Select(e => e.GetRawText()));
        }

        // The last owner never drained: the new one opens a new epoch before its first append.
        var tailRead = await ReadAllAsync(lazy, tail);
        var survivingTail = Offset.TryParse(tailRead.NextOffset, out var parsed) ? parsed : throw new InvalidDataException(tailRead.NextOffset);
        Assert.Equal(1, survivingTail.Epoch);
        using (var atLastAcknowledged = await lazy.Client.GetAsync($"/v1/stream/{tail}?offset={lastFromWriter}"))
        {
            if (survivingTail.Position < lastFromWriter.Position)
            {
                // The acknowledged tail was lost: the client learns where surviving history continues.
                Assert.Equal(HttpStatusCode.Gone, atLastAcknowledged.StatusCode);
                Assert.Equal(survivingTail.ToString(), Header(atLastAcknowledged, "Stream-Next-Offset"));
                Assert.Contains("offset_lost", await atLastAcknowledged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                output.WriteLine($"the unpublished tail was lost: {lastFromWriter} answers 410, resume at {survivingTail}");
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, atLastAcknowledged.StatusCode);
                output.WriteLine($"the tail was published before the kill: {lastFromWriter} still reads");
            }
        }

        var maxFromWriter = offsetsFromWriter.Max();
        foreach (var name in names)
        {
            var appended = await AppendAsync(lazy, name, ContentTypes.Json, JsonRecord(name, 100));
            Assert.True(appended.Epoch > maxFromWriter.Epoch, $"{name}: {appended} is not in a newer epoch than {maxFromWriter}");
            Assert.True(appended.CompareTo(maxFromWriter) > 0);
        }

        Assert.Equal(0, await lazy.TerminateAsync(StopTimeout));
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private sealed record Served(byte[] Body, string NextOffset, string ContentType);

    private ServerProcess Start(string label, params string[] flags)
    {
        var dataDirectory = new TempDirectory();
        directories.Add(dataDirectory);
        return StartOn(dataDirectory, label, flags);
    }

    /// <summary>A server on a given data directory: a node restarted with the disk it had.</summary>
    private ServerProcess StartOn(TempDirectory dataDirectory, string label, params string[] flags)
    {
        var server = ServerProcess.Start(
            label,
            ["--data-dir", dataDirectory.Path, .. store!.ServerArguments, .. flags],
            store.ServerEnvironment,
            output);
        servers.Add(server);
        return server;
    }

    private static string StreamName(int i) => IsJson(i) ? $"e2e/json/{i:D2}" : $"e2e/binary/{i:D2}";

    private static bool IsJson(int i) => i % 2 == 0;

    private static async Task WriteStreamAsync(ServerProcess server, string name, bool json, int seed)
    {
        var contentType = json ? ContentTypes.Json : ContentTypes.Default;
        await CreateAsync(server, name, contentType);
        var random = new Random(seed);
        for (var r = 0; r < AppendsPerStream; r++)
        {
            byte[] body;
            if (json)
            {
                body = JsonRecord(name, r);
            }
            else
            {
                // Every byte value can occur, zero included: the bytes must come back as they went in.
                body = new byte[random.Next(1, 300)];
                random.NextBytes(body);
            }

            await AppendAsync(server, name, contentType, body);
        }
    }

    private static byte[] JsonRecord(string name, int r) => Encoding.UTF8.GetBytes($"{{\"stream\":\"{name}\",\"record\":{r},\"text\":\"ä€\\n\"}}");

    private static async Task CreateAsync(ServerProcess server, string name, string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/stream/{name}") { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<Offset> AppendAsync(ServerProcess server, string name, string contentType, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/stream/{name}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var response = await server.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"append to {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return Offset.TryParse(Header(response, "Stream-Next-Offset"), out var offset)
            ? offset
            : throw new InvalidDataException("no offset in the append response");
    }

    /// <summary>One catch-up read from the beginning; the streams here fit one response.</summary>
    private static async Task<Served> ReadAllAsync(ServerProcess server, string name)
    {
        using var response = await server.Client.GetAsync($"/v1/stream/{name}?offset=-1");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"read of {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("true", Header(response, "Stream-Up-To-Date"));
        return new Served(
            await response.Content.ReadAsByteArrayAsync(),
            Header(response, "Stream-Next-Offset"),
            response.Content.Headers.ContentType?.ToString() ?? string.Empty);
    }

    private static async Task<bool> IsFullyUploadedAsync(ServerProcess server, string name)
    {
        using var details = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/stream/{name}/_details"));
        var root = details.RootElement;
        return root.GetProperty("uploaded_through").GetString() == root.GetProperty("next_offset").GetString();
    }

    private static async Task<List<string>> LocalStreamsAsync(ServerProcess server)
    {
        var names = new List<string>();
        string? after = null;
        do
        {
            var query = after is null ? "/v1/streams?limit=1000" : $"/v1/streams?limit=1000&after={Uri.EscapeDataString(after)}";
            using var page = JsonDocument.Parse(await server.Client.GetStringAsync(query));
            names.AddRange(page.RootElement.GetProperty("streams").EnumerateArray().Select(name => name.GetString()!));
            after = page.RootElement.GetProperty("next_after").GetString();
        }
        while (after is not null);

        return names;
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : string.Empty;
}
