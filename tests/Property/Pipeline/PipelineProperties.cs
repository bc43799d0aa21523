using FsCheck.Xunit;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Xunit;

namespace Streams.Tests.Property.Pipeline;

[Properties(Arbitrary = [typeof(Generators)], MaxTest = 40)]
public sealed class PipelineProperties
{
    private const long Unlimited = long.MaxValue;
    private const long SmallReadBudget = 100;

    [Property]
    public void Segments_tile_the_sealed_range_manifests_list_uploaded_prefixes_and_every_read_equals_the_model(PipelineSchedule schedule) =>
        // Off the test thread: the pipeline is async and FsCheck runs properties synchronously.
        Task.Run(() => RunAsync(schedule)).GetAwaiter().GetResult();

    private static async Task RunAsync(PipelineSchedule schedule)
    {
        await using var harness = new PipelineHarness(schedule);
        await harness.CreateStreamsAsync();
        var observed = new Observed(schedule.StreamCount);
        for (var i = 0; i < schedule.Steps.Count; i++)
        {
            var step = schedule.Steps[i];
            await harness.ApplyAsync(step);
            var context = $"after step {i}: {step}";
            for (var stream = 0; stream < harness.Names.Count; stream++)
            {
                await CheckStreamAsync(harness, stream, observed, context);
                if (step is ShortReadStep)
                {
                    await harness.WithShortReadsAsync(() => CheckReadsOrCorruptionAsync(harness, stream, context));
                    await CheckReadsAsync(harness, stream, everyPosition: true, context);
                }
                else
                {
                    await CheckReadsAsync(harness, stream, everyPosition: false, context);
                }
            }
        }

        // The schedule ends with a forced seal and a draining publish without faults: everything is out.
        for (var stream = 0; stream < harness.Names.Count; stream++)
        {
            var row = harness.Database.LoadStream(harness.StreamIds[stream])!;
            var manifest = await ReadManifestAsync(harness, stream);
            var records = harness.Model[stream].Count;
            Assert.True(row.UploadedThrough == records, $"stream {stream}: uploaded_through {row.UploadedThrough}, {records} records");
            Assert.NotNull(manifest);
            Assert.Equal(records, manifest.NextPosition);
            Assert.True(manifest.DrainedClean, $"stream {stream}: a complete manifest published while draining must say drained_clean");
            await CheckReadsAsync(harness, stream, everyPosition: true, "at the end");
        }

        CheckManifestPutsNeverGoBack(harness);
    }

    /// <summary>The local index's invariants, and the published manifest against the index and the model.</summary>
    private static async Task CheckStreamAsync(PipelineHarness harness, int stream, Observed observed, string context)
    {
        var name = harness.Names[stream];
        var model = harness.Model[stream];
        var snapshot = harness.Queries.LoadPublishSnapshot(harness.StreamIds[stream])!;
        var row = snapshot.Stream;
        var where = $"stream {stream} {context}";

        Assert.True(row.NextPosition == model.Count, $"{where}: next_position {row.NextPosition}, model {model.Count}");
        Assert.True(
            row.UploadedThrough >= 0 && row.UploadedThrough <= row.SealedThrough && row.SealedThrough <= row.NextPosition,
            $"{where}: uploaded_through {row.UploadedThrough}, sealed_through {row.SealedThrough}, next_position {row.NextPosition}");

        // Segments tile [0, sealed_through): indexes 0, 1, 2... each starting where the previous ended.
        long end = 0;
        var uploadedBoundary = row.UploadedThrough == 0;
        for (var i = 0; i < snapshot.Segments.Count; i++)
        {
            var segment = snapshot.Segments[i];
            Assert.True(segment.Index == i, $"{where}: segment at list position {i} has index {segment.Index}");
            Assert.True(segment.FirstPosition == end, $"{where}: segment {i} starts at {segment.FirstPosition}, expected {end}");
            Assert.True(segment.RecordCount >= 1, $"{where}: segment {i} is empty");
            end = segment.EndPosition;
            uploadedBoundary |= end == row.UploadedThrough;
            Assert.True(
                segment.Uploaded == (end <= row.UploadedThrough),
                $"{where}: segment {i} [{segment.FirstPosition}, {end}) uploaded={segment.Uploaded} with uploaded_through {row.UploadedThrough}");
            if (!segment.Uploaded)
            {
                // Not yet in a published manifest: the local file is the only copy and must be whole.
                var bytes = await File.ReadAllBytesAsync(harness.Files.PathFor(name, segment));
                AssertSegmentBytes(bytes, segment.ByteSize, segment.Checksum, segment.FirstPosition, segment.RecordCount, model, $"{where}: local segment {i}");
            }
        }

        Assert.True(end == row.SealedThrough, $"{where}: segments end at {end}, sealed_through is {row.SealedThrough}");
        Assert.True(uploadedBoundary, $"{where}: uploaded_through {row.UploadedThrough} is not a segment boundary");

        // The WAL keeps exactly the records no published manifest covers yet.
        var wal = harness.Database.ReadWal(harness.StreamIds[stream], 0, long.MaxValue, Unlimited);
        Assert.True(
            wal.Select(record => record.Position).SequenceEqual(Range(row.UploadedThrough, row.NextPosition)),
            $"{where}: WAL holds positions [{string.Join(", ", wal.Select(record => record.Position))}], expected [{row.UploadedThrough}, {row.NextPosition})");
        foreach (var record in wal)
        {
            Assert.True(record.Payload.AsSpan().SequenceEqual(model[(int)record.Position]), $"{where}: WAL payload at {record.Position} differs");
        }

        Assert.True(
            row.ManifestGeneration >= observed.LocalGeneration[stream],
            $"{where}: local generation went from {observed.LocalGeneration[stream]} to {row.ManifestGeneration}");
        observed.LocalGeneration[stream] = row.ManifestGeneration;

        var manifest = await ReadManifestAsync(harness, stream);
        if (manifest is null)
        {
            Assert.True(row.ManifestGeneration == 0, $"{where}: local generation {row.ManifestGeneration} but no manifest in the store");
            Assert.True(row.UploadedThrough == 0, $"{where}: uploaded_through {row.UploadedThrough} but no manifest in the store");
        }
        else
        {
            CheckManifest(manifest, row, snapshot.Segments, observed, stream, where);
            await CheckPublishedSegmentsAsync(harness, stream, manifest, where);
        }

        // No segment object that the index does not know, and none that differs from the local one.
        var listed = await harness.Objects.ListAsync(ObjectStoreKeys.SegmentsPrefix(name), null, int.MaxValue, CancellationToken.None);
        foreach (var entry in listed.Objects)
        {
            var storedName = entry.Key[ObjectStoreKeys.SegmentsPrefix(name).Length..];
            var local = snapshot.Segments.SingleOrDefault(segment => segment.StoredName == storedName);
            Assert.True(local is not null, $"{where}: the store holds segment {storedName}, which the index does not know");
            Assert.True(entry.Size == local.ByteSize, $"{where}: stored segment {storedName} differs in size from the local one");
        }
    }

    private static void CheckManifest(StreamManifest manifest, StreamRow row, IReadOnlyList<SegmentRow> segments, Observed observed, int stream, string where)
    {
        Assert.Equal(row.Name, manifest.Name);
        Assert.False(manifest.Deleted, $"{where}: the manifest is a tombstone");
        Assert.True(
            manifest.Generation >= observed.RemoteGeneration[stream],
            $"{where}: the published generation went from {observed.RemoteGeneration[stream]} to {manifest.Generation}");
        observed.RemoteGeneration[stream] = manifest.Generation;

        // At most one publish is ahead of the local commit (its local half failed or has not run).
        Assert.True(
            manifest.Generation == row.ManifestGeneration || manifest.Generation == row.ManifestGeneration + 1,
            $"{where}: published generation {manifest.Generation}, local generation {row.ManifestGeneration}");
        if (manifest.Generation == row.ManifestGeneration)
        {
            Assert.True(manifest.NextPosition == row.UploadedThrough, $"{where}: committed manifest ends at {manifest.NextPosition}, uploaded_through {row.UploadedThrough}");
        }
        else
        {
            Assert.True(manifest.NextPosition >= row.UploadedThrough, $"{where}: manifest ends at {manifest.NextPosition}, below uploaded_through {row.UploadedThrough}");
        }

        // A contiguous prefix of the local segments, described exactly as the index does.
        Assert.True(manifest.Segments.Count <= segments.Count, $"{where}: the manifest lists {manifest.Segments.Count} segments, the index has {segments.Count}");
        for (var i = 0; i < manifest.Segments.Count; i++)
        {
            Assert.True(
                manifest.Segments.RecordCounts[i] == segments[i].RecordCount
                    && manifest.Segments.ByteSizes[i] == segments[i].ByteSize
                    && manifest.Segments.Checksums[i] == segments[i].Checksum,
                $"{where}: manifest segment {i} does not describe local segment {i}");
        }

        Assert.Equal([new ManifestEpoch(0, 0)], manifest.Epochs);
    }

    /// <summary>Every segment the manifest lists is in the store, whole, holding the model's records.</summary>
    private static async Task CheckPublishedSegmentsAsync(PipelineHarness harness, int stream, StreamManifest manifest, string where)
    {
        long first = 0;
        for (var i = 0; i < manifest.Segments.Count; i++)
        {
            var bytes = await harness.Objects.GetAsync(ObjectStoreKeys.SegmentKey(harness.Names[stream], manifest.Segments.ObjectNameAt(i)), CancellationToken.None);
            Assert.True(bytes is not null, $"{where}: the manifest lists segment {i}, which is not in the store");
            AssertSegmentBytes(
                bytes,
                manifest.Segments.ByteSizes[i],
                manifest.Segments.Checksums[i],
                first,
                manifest.Segments.RecordCounts[i],
                harness.Model[stream],
                $"{where}: published segment {i}");
            first += manifest.Segments.RecordCounts[i];
        }
    }

    private static void AssertSegmentBytes(byte[] bytes, long size, string checksum, long first, long count, List<byte[]> model, string what)
    {
        Assert.True(bytes.LongLength == size, $"{what}: {bytes.LongLength} bytes, expected {size}");
        Assert.True(SegmentChecksum.Compute(bytes) == checksum, $"{what}: checksum differs");
        var records = new SegmentReader(bytes, what).ReadAll();
        Assert.True(records.Count == count, $"{what}: {records.Count} records, expected {count}");
        for (var i = 0; i < records.Count; i++)
        {
            var position = first + i;
            Assert.True(records[i].Position == position, $"{what}: record {i} has position {records[i].Position}, expected {position}");
            Assert.True(records[i].Payload.Span.SequenceEqual(model[(int)position]), $"{what}: payload at {position} differs from the model");
        }
    }

    /// <summary>
    /// Reads through the tiers: from every position (or from each tier boundary), unlimited and
    /// with a small budget; each read must be a non-empty prefix of the model's records from there.
    /// </summary>
    private static async Task CheckReadsAsync(PipelineHarness harness, int stream, bool everyPosition, string context)
    {
        var model = harness.Model[stream];
        var row = harness.Database.LoadStream(harness.StreamIds[stream])!;
        IEnumerable<long> starts = everyPosition
            ? Range(0, model.Count)
            : new[] { 0L, row.UploadedThrough, row.SealedThrough, model.Count - 1L }.Where(p => p >= 0 && p < model.Count).Distinct();
        foreach (var start in starts)
        {
            foreach (var budget in new[] { Unlimited, SmallReadBudget })
            {
                var records = await harness.Reader.ReadAsync(harness.StreamIds[stream], harness.Names[stream], start, model.Count, budget, CancellationToken.None);
                AssertReadMatchesModel(model, start, budget, records, $"stream {stream} {context}: read from {start} with budget {budget}");
            }
        }
    }

    /// <summary>With truncated downloads a read may fail, but it never returns anything but the model's records.</summary>
    private static async Task CheckReadsOrCorruptionAsync(PipelineHarness harness, int stream, string context)
    {
        var model = harness.Model[stream];
        for (long start = 0; start < model.Count; start++)
        {
            List<StoredRecord> records;
            try
            {
                records = await harness.Reader.ReadAsync(harness.StreamIds[stream], harness.Names[stream], start, model.Count, Unlimited, CancellationToken.None);
            }
            catch (SegmentCorruptException)
            {
                continue;
            }

            AssertReadMatchesModel(model, start, Unlimited, records, $"stream {stream} {context}: read from {start} during short reads");
        }
    }

    private static void AssertReadMatchesModel(List<byte[]> model, long start, long budget, List<StoredRecord> records, string what)
    {
        Assert.True(records.Count > 0, $"{what}: returned nothing");
        long bytes = 0;
        for (var i = 0; i < records.Count; i++)
        {
            var position = start + i;
            Assert.True(position < model.Count, $"{what}: returned a record past the end");
            Assert.True(records[i].Position == position, $"{what}: record {i} has position {records[i].Position}");
            Assert.True(records[i].Payload.AsSpan().SequenceEqual(model[(int)position]), $"{what}: payload at {position} differs from the model");
            bytes += records[i].Payload.Length;
        }

        if (budget == Unlimited)
        {
            Assert.True(start + records.Count == model.Count, $"{what}: returned {records.Count} records, {model.Count - start} were there");
        }
        else
        {
            Assert.True(records.Count == 1 || bytes <= budget, $"{what}: {bytes} bytes in {records.Count} records exceed the budget {budget}");
        }
    }

    /// <summary>Over the whole run, the manifests that reached the store never went to a lower generation.</summary>
    private static void CheckManifestPutsNeverGoBack(PipelineHarness harness)
    {
        foreach (var name in harness.Names)
        {
            var key = ObjectStoreKeys.ManifestKey(name);
            long previous = 0;
            foreach (var put in harness.Store.Calls
                .Where(call => call.Operation == ObjectStoreOperation.Put && call.Key == key && call.ReachedStore)
                .OrderBy(call => call.Finished))
            {
                var generation = StreamManifest.Parse(put.Content!).Generation;
                Assert.True(generation >= previous, $"{name}: a manifest of generation {generation} was written after generation {previous}");
                previous = generation;
            }
        }
    }

    private static async Task<StreamManifest?> ReadManifestAsync(PipelineHarness harness, int stream)
    {
        var bytes = await harness.Objects.GetAsync(ObjectStoreKeys.ManifestKey(harness.Names[stream]), CancellationToken.None);
        return bytes is null ? null : StreamManifest.Parse(bytes);
    }

    private static IEnumerable<long> Range(long from, long to)
    {
        for (var position = from; position < to; position++)
        {
            yield return position;
        }
    }

    /// <summary>What the run has seen so far, to check that generations never go back.</summary>
    private sealed class Observed(int streams)
    {
        public long[] LocalGeneration { get; } = new long[streams];

        public long[] RemoteGeneration { get; } = new long[streams];
    }
}
