using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Streams.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Fuzz;

/// <summary>
/// Hostile HTTP against the real server process: at least 20,000 generated requests (names,
/// offsets, headers, JSON bodies, methods and broken framing), interleaved with the suite's own
/// appends to two canary streams. Invariants: no request is answered with a 5xx, the server is
/// healthy afterwards, and every acknowledged canary record reads back byte for byte.
/// </summary>
public sealed class HttpFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Key = "fuzz-full-access-key";
    private const int BatchSize = 50;
    private const int Parallelism = 8;
    private const string BytesCanary = HostileGenerators.CanaryPrefix + "bytes";
    private const string JsonCanary = HostileGenerators.CanaryPrefix + "json";

    /// <summary><c>STREAMS_FUZZ_REQUESTS</c> raises (or, for a quick local run, lowers) the count.</summary>
    private static readonly int Requests =
        int.TryParse(Environment.GetEnvironmentVariable("STREAMS_FUZZ_REQUESTS"), CultureInfo.InvariantCulture, out var requested) && requested > 0
            ? requested
            : 20_000;

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-fuzz-{Guid.NewGuid():N}");
    private readonly MemoryStream acknowledgedBytes = new();
    private readonly List<JsonNode> acknowledgedJson = [];
    private readonly Dictionary<int, int> statusCounts = [];

    /// <summary>Requests answered by a closed connection instead of a status, by kind (raw framing, or the method).</summary>
    private readonly Dictionary<string, int> noAnswerCounts = [];
    private readonly Lock countsLock = new();
    private ServerProcess server = null!;
    private HttpClient client = null!;
    private int sent;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(dataDirectory);
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        server = await ServerProcess.StartAsync(
            dataDirectory,
            longPollTimeoutMs: 100,
            ["--auth-strategy", "api-key", "--max-append-bytes", "65536", "--segment-target-rows", "50", "--hocon", "streams.sse-max-connection-age = 1s"],
            new Dictionary<string, string> { ["API_KEY"] = Key },
            budget.Token);
        client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = Parallelism * 2 })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        await CreateAsync(BytesCanary, "application/octet-stream");
        await CreateAsync(JsonCanary, "application/json");
    }

    public async Task DisposeAsync()
    {
        client?.Dispose();
        if (server is not null)
        {
            output.WriteLine($"---- server output (last lines) ----\n{server.RecentOutput}");
            await server.DisposeAsync();
        }

        Directory.Delete(dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Should_answer_no_5xx_stay_healthy_and_keep_every_acknowledged_record_under_hostile_requests()
    {
        var sender = new HostileSender(server.BaseAddress, client);
        var batches = (Requests + BatchSize - 1) / BatchSize;
        var batch = Gen.ArrayOf(HostileGenerators.Request(Key), BatchSize).ToArbitrary();
        var random = new Random(20_000);

        // FsCheck drives the generation; each case is one batch, run concurrently against the server.
        Check.One(
            Config.QuickThrowOnFailure.WithMaxTest(batches).WithQuietOnSuccess(true),
            Prop.ForAll(batch, requests => RunBatchAsync(sender, requests, random).GetAwaiter().GetResult()));

        output.WriteLine($"{sent} hostile requests; statuses: {string.Join(", ", statusCounts.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key}x{pair.Value}"))}");
        output.WriteLine($"closed without a status: {string.Join(", ", noAnswerCounts.OrderByDescending(pair => pair.Value).Select(pair => $"{pair.Key} x{pair.Value}"))}");
        Assert.True(sent >= Requests, $"only {sent} requests were sent");

        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Assert.Equal(acknowledgedBytes.ToArray(), await ReadAllAsync(BytesCanary));
        var json = JsonNode.Parse(await ReadAllAsync(JsonCanary))!.AsArray();
        Assert.Equal(acknowledgedJson.Count, json.Count);
        for (var i = 0; i < json.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(acknowledgedJson[i], json[i]), $"JSON record {i} differs: {json[i]?.ToJsonString()}");
        }
    }

    private async Task RunBatchAsync(HostileSender sender, HostileRequest[] requests, Random random)
    {
        // The canaries change only here, one acknowledged append at a time, so their order is known.
        await AppendBytesAsync(random);
        await AppendJsonAsync(random);
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (request, _) =>
        {
            var status = await sender.SendAsync(request);
            Interlocked.Increment(ref sent);
            lock (countsLock)
            {
                statusCounts[status] = statusCounts.GetValueOrDefault(status) + 1;
                if (status == 0)
                {
                    var kind = request.Raw ? $"raw {request.RawFraming}" : $"{request.Method}: {sender.LastClientFailure}";
                    noAnswerCounts[kind] = noAnswerCounts.GetValueOrDefault(kind) + 1;
                }
            }

            Assert.True(status < 500, $"{status} for: {request}");
        });
    }

    private async Task AppendBytesAsync(Random random)
    {
        var payload = new byte[random.Next(1, 600)];
        random.NextBytes(payload);
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await SendAsync(HttpMethod.Post, BytesCanary, content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        acknowledgedBytes.Write(payload);
    }

    private async Task AppendJsonAsync(Random random)
    {
        var record = new JsonObject
        {
            ["n"] = random.Next(),
            ["text"] = string.Concat(Enumerable.Range(0, random.Next(0, 20)).Select(_ => (char)random.Next(0x20, 0x2FFF))),
            ["nested"] = new JsonArray(1, "two", null, 3.5),
        };
        using var content = new StringContent(record.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await SendAsync(HttpMethod.Post, JsonCanary, content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        acknowledgedJson.Add(record);
    }

    private async Task CreateAsync(string name, string contentType)
    {
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await SendAsync(HttpMethod.Put, name, content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>Catch-up reads from the start until the server says the reader is up to date.</summary>
    private async Task<byte[]> ReadAllAsync(string name)
    {
        var all = new MemoryStream();
        var offset = "-1";
        var json = name == JsonCanary;
        var elements = new List<string>();
        while (true)
        {
            using var response = await SendAsync(HttpMethod.Get, $"{name}?offset={offset}", content: null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsByteArrayAsync();
            if (json)
            {
                elements.AddRange(JsonNode.Parse(body)!.AsArray().Select(node => node!.ToJsonString()));
            }
            else
            {
                all.Write(body);
            }

            offset = response.Headers.GetValues("Stream-Next-Offset").Single();
            if (response.Headers.TryGetValues("Stream-Up-To-Date", out var upToDate) && upToDate.Single() == "true")
            {
                return json ? Encoding.UTF8.GetBytes("[" + string.Join(',', elements) + "]") : all.ToArray();
            }
        }
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, $"/v1/stream/{pathAndQuery}") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return client.SendAsync(request);
    }
}
