using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Tests.Support;
using Streams.Tests.Unit.Support;
using Xunit;
using Xunit.Abstractions;
using static Streams.Tests.Unit.Durability.RecoveryAssertions;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// The real server process, SIGKILLed between each pair of the pipeline's commit points — (1) append
/// committed, (2) segment file written and its row committed, (3) segments uploaded, (4) manifest
/// published and the local commit — then started again on what the crash left. The states between
/// points are made exactly: the server itself for (1), the server's own pipeline classes run
/// offline and stopped at the point for (2) to (4). Every recovery must serve each acknowledged
/// record at its offset, publish exactly those records, leave no stray segment, and no temp file.
/// </summary>
public sealed class PipelineCrashTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(1);

    private const int RecordsBeforeCrash = 20;
    private const int PublishedBeforeCrash = 10;
    private const int OfflineSegmentRows = 4;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan TempFileSweepDeadline = TimeSpan.FromSeconds(30);
    private static readonly string[] Names = ["crash/a", "crash/b ü", "crash/c"];

    // Quick retries so recovery is observed within seconds.
    private const string FastPipeline = """
        streams.segment.check-interval = 50ms
        streams.upload.check-interval = 50ms
        streams.upload.retry-min-backoff = 20ms
        streams.upload.retry-max-backoff = 1s
        """;

    private readonly TestDirectory directory = new("pipeline-crash");

    private string Data => directory.Combine("data");

    private string Objects => directory.Combine("objects");

    /// <summary>Seals every 3 records or after 100 ms.</summary>
    private string[] Sealing => ["--object-store-dir", Objects, "--segment-target-rows", "3", "--segment-max-age-ms", "100", "--hocon", FastPipeline];

    /// <summary>Never seals while the test runs.</summary>
    private string[] NotSealing => ["--object-store-dir", Objects, "--segment-target-rows", "1000000", "--segment-max-age-ms", "86400000", "--hocon", FastPipeline];

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_seal_and_publish_every_acknowledged_record_when_killed_after_the_append_commit_before_any_seal()
    {
        await AppendThenKillAsync(NotSealing, from: 0, count: RecordsBeforeCrash, waitForPublish: false);
        var store = new FileSystemObjectStore(Objects);
        foreach (var name in Names)
        {
            Assert.Empty(await PublishedStream.StoredSegmentNamesAsync(store, name, CancellationToken.None));
        }

        await RestartAndAssertRecoveredAsync(RecordsBeforeCrash);
    }

    [Fact]
    public async Task Should_remove_the_orphan_segment_and_temp_files_when_killed_between_writing_a_segment_and_committing_it()
    {
        await AppendThenKillAsync(NotSealing, from: 0, count: RecordsBeforeCrash, waitForPublish: false);

        // Seal a copy, then put its first segment file next to the original index, which never
        // recorded it: the file a crash after the rename and before the commit leaves. Plus the
        // debris of writes interrupted before their rename, locally and in the store.
        var copy = CopyDataDirectory();
        await using (var offline = new OfflinePipeline(copy, new FileSystemObjectStore(directory.Combine("unused-objects"))))
        {
            await offline.SealAllAsync(targetRows: 7);
            foreach (var name in Names)
            {
                var sealedFile = Directory.GetFiles(offline.Files.StreamDirectory(name), "*.seg").Order(StringComparer.Ordinal).First();
                var orphan = new SegmentFiles(Data).PathFor(name, Path.GetFileName(sealedFile));
                Directory.CreateDirectory(Path.GetDirectoryName(orphan)!);
                File.Copy(sealedFile, orphan);
                await File.WriteAllBytesAsync(Path.Combine(Path.GetDirectoryName(orphan)!, $".0000000000000001.seg.{Guid.NewGuid():N}.tmp"), [1, 2, 3]);
                var storeSegments = Path.Combine(Objects, ObjectStoreKeys.SegmentsPrefix(name));
                Directory.CreateDirectory(storeSegments);
                var storeTemp = Path.Combine(storeSegments, "." + Guid.NewGuid().ToString("N") + ObjectKeyRules.ReservedSuffix);
                await File.WriteAllBytesAsync(storeTemp, [4, 5, 6]);
                // Left by the crashed process, so older than the restarted one: the start-up sweep
                // leaves alone temp files written around or after its own start.
                File.SetLastWriteTimeUtc(storeTemp, DateTime.UtcNow - LeftoverAge);
            }
        }

        await RestartAndAssertRecoveredAsync(RecordsBeforeCrash);
    }

    [Fact]
    public async Task Should_upload_again_and_publish_when_killed_after_segments_were_uploaded_before_their_manifest()
    {
        await AppendThenKillAsync(Sealing, from: 0, count: PublishedBeforeCrash, waitForPublish: true);
        await AppendThenKillAsync(NotSealing, from: PublishedBeforeCrash, count: RecordsBeforeCrash - PublishedBeforeCrash, waitForPublish: false);
        var store = new FileSystemObjectStore(Objects);
        var generations = await PublishedGenerationsAsync(store);

        // Seal and upload the tail, but every manifest put fails: segments in the store, manifest behind.
        var manifestsFail = new FlakyObjectStore(
            store,
            (operation, key) => operation == ObjectStoreOperation.Put && ObjectStoreKeys.IsManifestKey(key) ? InjectedFault.FailBefore : InjectedFault.None,
            TimeSpan.Zero);
        await using (var offline = new OfflinePipeline(Data, manifestsFail))
        {
            await offline.SealAllAsync(OfflineSegmentRows);
            Assert.Equal(Names.Length, (await offline.PublishAllAsync()).Count);
        }

        foreach (var name in Names)
        {
            var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
            var stored = await PublishedStream.StoredSegmentNamesAsync(store, name, CancellationToken.None);
            Assert.Equal(PublishedBeforeCrash, published!.Manifest.NextPosition);
            Assert.True(stored.Count > published.Manifest.Segments.Count, $"{name}: no segment was uploaded ahead of the manifest");
        }

        await RestartAndAssertRecoveredAsync(RecordsBeforeCrash);
        foreach (var (name, generation) in generations)
        {
            var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
            Assert.Equal(generation + 1, published!.Manifest.Generation);
        }
    }

    [Fact]
    public async Task Should_complete_the_local_commit_and_keep_publishing_when_killed_after_the_manifest_was_published()
    {
        await AppendThenKillAsync(Sealing, from: 0, count: PublishedBeforeCrash, waitForPublish: true);
        await AppendThenKillAsync(NotSealing, from: PublishedBeforeCrash, count: RecordsBeforeCrash - PublishedBeforeCrash, waitForPublish: false);
        var store = new FileSystemObjectStore(Objects);
        var generations = await PublishedGenerationsAsync(store);

        // Seal the tail (commit point 2, kept), then publish from a copy of the index: the store gets
        // the segments and a manifest one generation ahead; the original index never hears of it.
        await using (var offline = new OfflinePipeline(Data, store))
        {
            await offline.SealAllAsync(OfflineSegmentRows);
        }

        await using (var offline = new OfflinePipeline(CopyDataDirectory(), store))
        {
            Assert.Empty(await offline.PublishAllAsync());
        }

        await using (var offline = new OfflinePipeline(Data, store))
        {
            foreach (var name in Names)
            {
                var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
                var local = offline.Stream(name);
                Assert.Equal(RecordsBeforeCrash, published!.Manifest.NextPosition);
                Assert.Equal(generations[name] + 1, published.Manifest.Generation);
                Assert.Equal(generations[name], local.ManifestGeneration);
                Assert.Equal(PublishedBeforeCrash, local.UploadedThrough);
            }
        }

        await RestartAndAssertRecoveredAsync(RecordsBeforeCrash, appendAfterRecovery: 5);
        foreach (var (name, generation) in generations)
        {
            var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
            Assert.True(published!.Manifest.Generation > generation + 1, $"{name}: no publish after the recovered one (generation {published.Manifest.Generation})");
        }
    }

    [Fact]
    public async Task Should_keep_and_publish_every_acknowledged_record_when_killed_at_random_moments_under_load()
    {
        const int streams = 6;
        const int rounds = 2;
        var seed = Random.Shared.Next();
        output.WriteLine($"kill seed {seed}");
        var random = new Random(seed);
        var names = Enumerable.Range(0, streams).Select(i => $"load/{i}").ToArray();
        var durable = new long[streams];
        string[] arguments = ["--object-store-dir", Objects, "--segment-target-rows", "3", "--segment-max-age-ms", "50", "--hocon", FastPipeline];

        for (var round = 0; round < rounds; round++)
        {
            var acknowledged = new long[streams];
            var attempted = new long[streams];
            await using (var server = await ServerProcess.StartAsync(Data, arguments))
            {
                foreach (var name in names)
                {
                    await server.Protocol().CreateAsync(name);
                }

                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, streams).Select(stream => Task.Run(async () =>
                {
                    var next = durable[stream];
                    acknowledged[stream] = next;
                    while (!stop.IsCancellationRequested)
                    {
                        Volatile.Write(ref attempted[stream], next + 1);
                        var offset = await server.Protocol().TryAppendAsync(names[stream], RecordAt(stream, next), stop.Token);
                        Assert.True(offset is { } acked && acked.Position == next + 1, $"{names[stream]}: append {next} answered {offset}");
                        acknowledged[stream] = ++next;
                    }
                })).ToList();

                var killAfter = TimeSpan.FromMilliseconds(random.Next(500, 2_500));
                output.WriteLine($"round {round}: killing after {killAfter.TotalMilliseconds} ms");
                await Task.Delay(killAfter);
                await server.KillAsync();
                await stop.CancelAsync();
                foreach (var writer in writers)
                {
                    await StreamsHttpClient.AssertEndedByShutdownAsync(writer);
                }
            }

            await using (var restarted = await ServerProcess.StartAsync(Data, arguments))
            {
                for (var stream = 0; stream < streams; stream++)
                {
                    var (bytes, tail) = await restarted.Protocol().ReadToTailAsync(names[stream]);
                    // Every acknowledged record survives; the one in flight at the kill may or may not.
                    Assert.True(
                        tail.Position >= acknowledged[stream] && tail.Position <= Volatile.Read(ref attempted[stream]),
                        $"{names[stream]}: {tail.Position} records after the kill, {acknowledged[stream]} acknowledged (seed {seed}, round {round})");
                    Assert.True(bytes.AsSpan().SequenceEqual(FirstRecords(stream, tail.Position)), $"{names[stream]}: records differ after the kill (seed {seed}, round {round})");
                    durable[stream] = tail.Position;
                }

                Assert.True(await restarted.TryTerminateAsync(StopTimeout), "the server did not stop after SIGTERM");
            }
        }

        await using var final = await ServerProcess.StartAsync(Data, arguments);
        var store = new FileSystemObjectStore(Objects);
        for (var stream = 0; stream < streams; stream++)
        {
            await AssertReadableAsync(final.Protocol(), names[stream], stream, durable[stream]);
            await AssertEventuallyPublishedAsync(final.Protocol(), store, names[stream], stream, durable[stream]);
        }

        await Eventually.AssertAsync(() => Task.Run(() => AssertNoTempFiles(Data, Objects)), TempFileSweepDeadline);
    }

    /// <summary>Starts the server, appends records [from, from + count) to every stream, optionally waits until they are published, then SIGKILLs it.</summary>
    private async Task AppendThenKillAsync(string[] arguments, int from, int count, bool waitForPublish)
    {
        await using var server = await ServerProcess.StartAsync(Data, arguments);
        for (var stream = 0; stream < Names.Length; stream++)
        {
            await server.Protocol().CreateAsync(Names[stream]);
            for (var index = from; index < from + count; index++)
            {
                var next = await server.Protocol().AppendAsync(Names[stream], RecordAt(stream, index));
                Assert.Equal(index + 1, next.Position);
            }
        }

        if (waitForPublish)
        {
            var store = new FileSystemObjectStore(Objects);
            for (var stream = 0; stream < Names.Length; stream++)
            {
                await AssertEventuallyPublishedAsync(server.Protocol(), store, Names[stream], stream, from + count);
            }
        }

        await server.KillAsync();
    }

    /// <summary>
    /// Starts the server on what the crash left and checks that it serves every record at once,
    /// publishes exactly those records, replaces or removes every stray file, and still works.
    /// </summary>
    private async Task RestartAndAssertRecoveredAsync(int records, int appendAfterRecovery = 0)
    {
        await using var server = await ServerProcess.StartAsync(Data, Sealing);
        var store = new FileSystemObjectStore(Objects);
        try
        {
            for (var stream = 0; stream < Names.Length; stream++)
            {
                await AssertReadableAsync(server.Protocol(), Names[stream], stream, records);
            }

            for (var stream = 0; stream < Names.Length; stream++)
            {
                await AssertEventuallyPublishedAsync(server.Protocol(), store, Names[stream], stream, records);
                await AssertReadableAsync(server.Protocol(), Names[stream], stream, records);
                await AssertLocalSegmentFilesMatchAsync(Data, store, Names[stream]);
            }

            // The local store sweeps its leftovers in the background once the server is up.
            await Eventually.AssertAsync(() => Task.Run(() => AssertNoTempFiles(Data, Objects)), TempFileSweepDeadline);
            for (var stream = 0; stream < Names.Length; stream++)
            {
                for (var index = records; index < records + appendAfterRecovery; index++)
                {
                    await server.Protocol().AppendAsync(Names[stream], RecordAt(stream, index));
                }

                await AssertEventuallyPublishedAsync(server.Protocol(), store, Names[stream], stream, records + appendAfterRecovery);
            }
        }
        catch
        {
            output.WriteLine(server.RecentOutput);
            throw;
        }
    }

    private static async Task<Dictionary<string, long>> PublishedGenerationsAsync(IObjectStore store)
    {
        var generations = new Dictionary<string, long>();
        foreach (var name in Names)
        {
            var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
            generations[name] = published?.Manifest.Generation ?? 0;
        }

        return generations;
    }

    /// <summary>A copy of the data directory as the killed server left it (database, its WAL, segment files).</summary>
    private string CopyDataDirectory()
    {
        var copy = directory.Combine("data-copy-" + Guid.NewGuid().ToString("N"));
        foreach (var source in Directory.EnumerateFiles(Data, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(Data, source));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
        }

        return copy;
    }
}
