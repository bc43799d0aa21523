using System.Net;
using System.Net.Http.Headers;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.ObjectStore;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// The real server process, killed with SIGKILL while producers append, restarted on the same data
/// directory: an append the server acknowledged must survive exactly as acknowledged. Loopback
/// only; the process and the data directory are removed even when an assertion fails.
///
/// This proves acknowledge-after-commit across a process crash. It cannot prove the fsync itself
/// (the operating system keeps a killed process's written pages), which is what power loss tests.
/// </summary>
public sealed class KillNineTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Rounds = 3;
    private const int LongPollTimeoutMs = 500;
    private const int PlainWritersPerStream = 2;
    private const int FirstSeed = 4437;

    /// <summary>
    /// Small segments sealed early, so kills also land while WAL rows are sealed into segment files,
    /// uploaded to the (local) object store, published in manifests and collected from the WAL —
    /// and reads after a restart merge segments and WAL.
    /// </summary>
    private static readonly string[] SealOften = ["--segment-target-rows", "64", "--segment-max-age-ms", "200"];

    /// <summary>Acknowledged appends (all streams) before each kill; different per round so the kill lands at different points.</summary>
    private static readonly int[] AcknowledgedBeforeKill = [200, 600, 400];

    /// <summary>
    /// Fewer acknowledged appends than this in a round (a machine too loaded to make progress) fail
    /// the test rather than let it pass on nothing.
    /// </summary>
    private const int MinimumAcknowledgedPerRound = 30;

    /// <summary>The whole test, three restarts included; it normally takes a fraction of this.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(100);

    /// <summary>A round is killed at its target or after this long, whichever comes first.</summary>
    private static readonly TimeSpan LongestRound = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan WritersStopDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(15);

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-kill9-{Guid.NewGuid():N}");
    private readonly S3TestBucket bucket = new();
    private ServerProcess? server;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(dataDirectory);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            // Shown with the test's output, which xunit prints when the test fails.
            output.WriteLine($"server output (last lines):{Environment.NewLine}{server.RecentOutput}");
            await server.DisposeAsync();
        }

        DeleteDirectory(dataDirectory);
        await bucket.DisposeAsync();
    }

    [Fact]
    public Task Should_keep_every_acknowledged_append_byte_for_byte_when_the_server_is_killed_with_sigkill() =>
        KillRepeatedlyAsync(SealOften, environment: null);

    [S3Fact]
    public async Task Should_keep_every_acknowledged_append_byte_for_byte_when_the_server_is_killed_while_uploading_to_s3()
    {
        var s3 = S3TestServer.Require();
        await bucket.EnsureCreatedAsync();
        string[] arguments =
        [
            .. SealOften,
            "--object-store", "s3",
            "--s3-endpoint", s3.Endpoint,
            "--s3-bucket", bucket.Name,
            "--s3-region", s3.Region,
        ];
        var environment = new Dictionary<string, string>
        {
            ["STREAMS_S3_ACCESS_KEY"] = s3.AccessKey,
            ["STREAMS_S3_SECRET_KEY"] = s3.SecretKey,
        };

        await KillRepeatedlyAsync(arguments, environment);

        using var store = bucket.OpenStore();
        using var timeout = new CancellationTokenSource(RequestTimeout);
        var listed = await store.ListAsync(ObjectStoreKeys.StreamsPrefix, continuationToken: null, maxKeys: 1000, timeout.Token);
        Assert.Contains(listed.Objects, entry => ObjectStoreKeys.IsManifestKey(entry.Key));
    }

    /// <summary>
    /// Starts the server, then three times: lets the writers run, kills the server with SIGKILL,
    /// restarts it on the same data directory, checks every stream and lets the producers retry.
    /// </summary>
    private async Task KillRepeatedlyAsync(IReadOnlyList<string> serverArguments, IReadOnlyDictionary<string, string>? environment)
    {
        using var budget = new CancellationTokenSource(Budget);
        var cancellationToken = budget.Token;
        using var client = new HttpClient { Timeout = RequestTimeout };

        var ledgers = new[]
        {
            new StreamLedger("crash/binary-0", json: false),
            new StreamLedger("crash/binary-1", json: false),
            new StreamLedger("crash/json-0", json: true),
        };
        var writers = new List<CrashWriter>();
        var seed = FirstSeed;
        foreach (var ledger in ledgers)
        {
            for (var i = 0; i < PlainWritersPerStream; i++)
            {
                writers.Add(new CrashWriter(ledger, $"{ledger.Name}/plain-{i}", idempotent: false, seed++));
            }

            writers.Add(new CrashWriter(ledger, $"{ledger.Name}/producer", idempotent: true, seed++));
        }

        server = await ServerProcess.StartAsync(dataDirectory, LongPollTimeoutMs, serverArguments, environment, cancellationToken);
        foreach (var ledger in ledgers)
        {
            using var create = new HttpRequestMessage(HttpMethod.Put, new Uri(server.BaseAddress, $"v1/stream/{ledger.Name}"))
            {
                Content = new ByteArrayContent([]),
            };
            create.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(ledger.ContentType);
            using var created = await client.SendAsync(create, cancellationToken);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var totals = new CheckResult(0, 0, 0);
        for (var round = 0; round < Rounds; round++)
        {
            var stop = false;
            var baseAddress = server.BaseAddress;
            var running = writers.Select(writer => Task.Run(() => writer.RunAsync(client, baseAddress, () => Volatile.Read(ref stop), cancellationToken))).ToList();

            // Kill while every writer is still sending: whatever is in flight then is the crash's to decide.
            var target = AcknowledgedBeforeKill[round];
            var roundEnds = DateTime.UtcNow + LongestRound;
            await WaitUntilAsync(
                () => ledgers.Sum(ledger => ledger.AcknowledgedSinceCheck) >= target || DateTime.UtcNow >= roundEnds || running.Any(task => task.IsCompleted),
                LongestRound + LongestRound,
                cancellationToken);
            Assert.True(running.All(task => !task.IsCompleted), "a writer stopped before the kill");
            var acknowledgedBeforeKill = ledgers.Sum(ledger => ledger.AcknowledgedSinceCheck);
            Assert.True(acknowledgedBeforeKill >= MinimumAcknowledgedPerRound, $"only {acknowledgedBeforeKill} appends were acknowledged in {LongestRound}");
            var exitCode = await server.KillAsync();
            if (!OperatingSystem.IsWindows())
            {
                // Proof that the process died of SIGKILL, not of a graceful shutdown.
                Assert.Equal(ServerProcess.ExitCodeAfterSigkill, exitCode);
            }

            Volatile.Write(ref stop, true);
            await Task.WhenAll(running).WaitAsync(WritersStopDeadline, cancellationToken);
            await server.DisposeAsync();
            server = null;

            server = await ServerProcess.StartAsync(dataDirectory, LongPollTimeoutMs, serverArguments, environment, cancellationToken);
            var roundTotals = await CheckAllAsync(client, ledgers, cancellationToken);
            output.WriteLine($"round {round + 1}: killed after {acknowledgedBeforeKill} acknowledgements (target {target}); {roundTotals}");
            totals = Add(totals, roundTotals);

            foreach (var writer in writers)
            {
                await writer.RetryAfterRestartAsync(client, server.BaseAddress, cancellationToken);
            }
        }

        // The retries accepted after the last restart are checked too.
        var last = await CheckAllAsync(client, ledgers, cancellationToken);
        totals = Add(totals, last);
        var duplicates = writers.Sum(writer => writer.DuplicatesConfirmed);
        var retriesAccepted = writers.Sum(writer => writer.RetriesAccepted);
        output.WriteLine($"total: {totals}; {ledgers.Sum(ledger => ledger.VerifiedCount)} records in the streams; producer retries: {duplicates} duplicates (204), {retriesAccepted} accepted (200)");

        Assert.True(totals.AcknowledgedVerified >= Rounds * MinimumAcknowledgedPerRound, $"only {totals.AcknowledgedVerified} acknowledged appends were verified");
        Assert.True(duplicates >= Rounds, "the producers' retries never met a committed append");
        // The kills were meant to hit the seal/upload pipeline too: it must have produced segments.
        var segmentFiles = Directory.EnumerateFiles(dataDirectory, "*.seg", SearchOption.AllDirectories).Count();
        output.WriteLine($"{segmentFiles} segment files under the data directory");
        Assert.True(segmentFiles > 0, "no segment was ever sealed; the run did not exercise the pipeline");
    }

    private async Task<CheckResult> CheckAllAsync(HttpClient client, StreamLedger[] ledgers, CancellationToken cancellationToken)
    {
        var totals = new CheckResult(0, 0, 0);
        foreach (var ledger in ledgers)
        {
            var (records, epoch) = await ReadWholeStreamAsync(client, server!.BaseAddress, ledger, cancellationToken);
            totals = Add(totals, ledger.Check(records, epoch));
        }

        return totals;
    }

    /// <summary>Pages from -1 along Stream-Next-Offset until Stream-Up-To-Date, checking that each page ends on a record boundary.</summary>
    private static async Task<(List<ReadRecord> Records, long Epoch)> ReadWholeStreamAsync(
        HttpClient client,
        Uri baseAddress,
        StreamLedger ledger,
        CancellationToken cancellationToken)
    {
        var records = new List<ReadRecord>();
        var offset = "-1";
        long? epoch = null;
        while (true)
        {
            using var response = await client.GetAsync(new Uri(baseAddress, $"v1/stream/{ledger.Name}?offset={offset}"), cancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var next = Assert.Single(response.Headers.GetValues("Stream-Next-Offset"));
            Assert.True(Offset.TryParse(next, out var nextOffset), $"{ledger.Name}: Stream-Next-Offset '{next}' is not an offset");
            epoch ??= nextOffset.Epoch;
            Assert.True(epoch == nextOffset.Epoch, $"{ledger.Name}: the epoch changed within one read, at {next}");

            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            List<ReadRecord> page;
            try
            {
                page = ledger.IsJson ? CrashPayloads.ParseJson(body) : CrashPayloads.ParseBinary(body);
            }
            catch (Exception exception) when (exception is FormatException or System.Text.Json.JsonException)
            {
                throw new Xunit.Sdk.XunitException($"{ledger.Name}: the page read from {offset} is not whole records: {exception.Message}");
            }

            Assert.True(nextOffset.Position == records.Count + page.Count, $"{ledger.Name}: page from {offset} holds {page.Count} records but ends at {next}");
            records.AddRange(page);
            offset = next;
            if (response.Headers.TryGetValues("Stream-Up-To-Date", out var upToDate) && upToDate.Contains("true"))
            {
                return (records, epoch.Value);
            }

            Assert.True(page.Count > 0, $"{ledger.Name}: a page that is not up to date returned nothing");
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {timeout}");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static CheckResult Add(CheckResult left, CheckResult right) =>
        new(left.AcknowledgedVerified + right.AcknowledgedVerified, left.InFlightSurvived + right.InFlightSurvived, left.InFlightLost + right.InFlightLost);

    private static void DeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A file still held open; the temp directory is cleaned by the OS eventually.
        }
    }
}
