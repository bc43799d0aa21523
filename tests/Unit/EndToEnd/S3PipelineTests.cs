using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;
using static Streams.Tests.Unit.Durability.RecoveryAssertions;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>
/// The real server process with <c>--object-store s3</c> against the S3 test server (Ceph RGW).
/// What reaches the bucket is checked by reading the bucket directly, never through the server.
/// </summary>
public sealed class S3PipelineTests(S3TestBucket bucket, ITestOutputHelper output) : IClassFixture<S3TestBucket>, IDisposable
{
    private const int ManyStreams = 100;
    private const int RecordsPerStream = 12;
    private const int AppendParallelism = 16;
    private static readonly TimeSpan PublishDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainDeadline = TimeSpan.FromSeconds(120);

    private const string FastPipeline = """
        streams.segment.check-interval = 50ms
        streams.upload.check-interval = 50ms
        streams.upload.retry-min-backoff = 20ms
        streams.upload.retry-max-backoff = 1s
        """;

    private readonly TestDirectory directory = new("s3-pipeline");

    public void Dispose() => directory.Dispose();

    [S3Fact]
    public async Task Should_put_every_streams_records_in_the_bucket_under_the_documented_keys_within_seconds_when_appending_to_a_hundred_streams()
    {
        const string prefix = "hundred/";
        var names = Enumerable.Range(0, ManyStreams).Select(i => $"tenant-{i % 7}/stream {i} ü").ToArray();
        await using var server = await StartAsync(prefix, "--segment-target-rows", "5", "--segment-max-age-ms", "200");

        await Parallel.ForEachAsync(
            Enumerable.Range(0, ManyStreams),
            new ParallelOptions { MaxDegreeOfParallelism = AppendParallelism },
            async (stream, _) =>
            {
                await server.Protocol().CreateAsync(names[stream]);
                for (var index = 0; index < RecordsPerStream; index++)
                {
                    await server.Protocol().AppendAsync(names[stream], RecordAt(stream, index));
                }
            });
        var lastAcknowledged = Stopwatch.StartNew();

        using var store = bucket.OpenStore(prefix);
        await Eventually.AssertAsync(
            async () =>
            {
                for (var stream = 0; stream < ManyStreams; stream++)
                {
                    var published = await PublishedStream.ReadAsync(store, names[stream], CancellationToken.None);
                    Assert.True(published is not null, $"{names[stream]} has no manifest in the bucket");
                    Assert.True(
                        published.Records.SelectMany(record => record).SequenceEqual(FirstRecords(stream, RecordsPerStream)),
                        $"{names[stream]}: the bucket holds {published.Records.Count} records, not the {RecordsPerStream} appended");
                }
            },
            PublishDeadline);
        output.WriteLine($"all {ManyStreams} streams published {lastAcknowledged.Elapsed.TotalSeconds:F1} s after the last acknowledged append");

        for (var stream = 0; stream < ManyStreams; stream++)
        {
            var details = await server.Protocol().DetailsAsync(names[stream]);
            Assert.Equal(details.GetProperty("next_offset").GetString(), details.GetProperty("uploaded_through").GetString());
        }

        // Every key in the bucket follows docs/storage-format.md: <prefix>streams/<h>/manifest.json and
        // <prefix>streams/<h>/segments/<16-digit first position>-<16 hex>.seg, h from SHA-256 of the name
        // computed here, each segment's name as its manifest records it.
        using var whole = bucket.OpenStore();
        var keys = await ListAllAsync(whole, prefix);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (var stream = 0; stream < ManyStreams; stream++)
        {
            var published = await PublishedStream.ReadAsync(store, names[stream], CancellationToken.None);
            var directoryKey = $"{prefix}streams/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(names[stream]))[..16])}/";
            expected.Add(directoryKey + "manifest.json");
            long first = 0;
            for (var index = 0; index < published!.Manifest.Segments.Count; index++)
            {
                var objectName = published.Manifest.Segments.ObjectNames![index]!;
                Assert.Matches($"^{first.ToString("D16", CultureInfo.InvariantCulture)}-[0-9a-f]{{16}}\\.seg$", objectName);
                expected.Add(directoryKey + "segments/" + objectName);
                first += published.Manifest.Segments.RecordCounts[index];
            }
        }

        Assert.True(expected.SetEquals(keys), $"unexpected keys: {string.Join(", ", keys.Except(expected).Take(5))}; missing: {string.Join(", ", expected.Except(keys).Take(5))}");
    }

    [S3Fact]
    public async Task Should_leave_every_acknowledged_record_in_the_bucket_when_terminated_in_the_middle_of_appends()
    {
        const string prefix = "terminated/";
        const int streams = 20;
        var names = Enumerable.Range(0, streams).Select(i => $"drain/{i}").ToArray();
        var acknowledged = new long[streams];
        var attempted = new long[streams];
        // Seals rarely: at SIGTERM most acknowledged records are still only in the local WAL.
        await using var server = await StartAsync(prefix, "--segment-target-rows", "40", "--segment-max-age-ms", "60000");
        foreach (var name in names)
        {
            await server.Protocol().CreateAsync(name);
        }

        var writers = Enumerable.Range(0, streams).Select(stream => Task.Run(async () =>
        {
            for (long next = 0; ; next++)
            {
                Volatile.Write(ref attempted[stream], next + 1);
                var offset = await server.Protocol().TryAppendAsync(names[stream], RecordAt(stream, next));
                if (offset is null)
                {
                    // Refused: the drain has begun. Nothing after this is acknowledged.
                    return;
                }

                Volatile.Write(ref acknowledged[stream], offset.Value.Position);
            }
        })).ToList();

        Assert.True(
            await Eventually.TrueAsync(() => Task.FromResult(Enumerable.Range(0, streams).All(i => Volatile.Read(ref acknowledged[i]) >= 30)), PublishDeadline),
            "the writers did not get going");
        Assert.True(await server.TryTerminateAsync(DrainDeadline), $"the server did not exit within {DrainDeadline} of SIGTERM:\n{server.RecentOutput}");
        foreach (var writer in writers)
        {
            await StreamsHttpClient.AssertEndedByShutdownAsync(writer);
        }

        Assert.True(server.ExitCode == 0, $"exit code {server.ExitCode}:\n{server.RecentOutput}");
        using var store = bucket.OpenStore(prefix);
        for (var stream = 0; stream < streams; stream++)
        {
            var published = await PublishedStream.ReadAsync(store, names[stream], CancellationToken.None);
            Assert.True(published is not null, $"{names[stream]} has no manifest in the bucket");
            var count = published.Records.Count;
            Assert.True(
                count >= acknowledged[stream] && count <= attempted[stream],
                $"{names[stream]}: {count} records in the bucket, {acknowledged[stream]} acknowledged, {attempted[stream]} attempted");
            Assert.True(published.Records.SelectMany(record => record).SequenceEqual(FirstRecords(stream, count)), $"{names[stream]}: the records in the bucket differ");
            Assert.True(published.Manifest.DrainedClean, $"{names[stream]}: the drain did not mark the manifest drained_clean");
        }
    }

    private async Task<ServerProcess> StartAsync(string prefix, params string[] sealing)
    {
        var s3 = S3TestServer.Require();
        await bucket.EnsureCreatedAsync();
        string[] arguments =
        [
            "--object-store", "s3",
            "--s3-endpoint", s3.Endpoint,
            "--s3-region", s3.Region,
            "--s3-bucket", bucket.Name,
            "--s3-prefix", prefix,
            "--hocon", FastPipeline,
            .. sealing,
        ];
        // Credentials only ever through the environment, as in production.
        var environment = new Dictionary<string, string>
        {
            ["STREAMS_S3_ACCESS_KEY"] = s3.AccessKey,
            ["STREAMS_S3_SECRET_KEY"] = s3.SecretKey,
        };
        return await ServerProcess.StartAsync(directory.Combine("data-" + prefix.TrimEnd('/')), arguments, environment);
    }

    private static async Task<HashSet<string>> ListAllAsync(Streams.Actors.ObjectStore.IObjectStore store, string prefix)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        string? continuation = null;
        do
        {
            var page = await store.ListAsync(prefix, continuation, 1000, CancellationToken.None);
            keys.UnionWith(page.Objects.Select(entry => entry.Key));
            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return keys;
    }
}
