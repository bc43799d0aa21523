using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.Support;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Storage;

/// <summary>
/// Compaction on a real engine (SQLite, segment files, a directory object store): merged segments
/// replace small ones, the new layout is published, replaced objects go only after a manifest no
/// longer lists them and the grace has passed, and readers — the writer itself, a node that restored
/// the old manifest, a fresh lazy node — read byte-identical records throughout. And compaction
/// meets the end of a stream's stay on a node: a compaction that ends after a clean publish gave the
/// stream up does not commit, one in flight at a drain is called off before the final publish, and
/// deleting what it replaced goes on after the stream's local directory was evicted.
/// </summary>
public sealed class CompactionTests(ITestOutputHelper output) : ObjectStoreWorldTestKit(output)
{
    private const int Records = 40;
    private const string SmallSegments = "streams.segment.target-rows = 1000";

    [Fact]
    public async Task Should_list_one_merged_segment_and_read_the_same_records_when_a_quiet_stream_is_compacted_and_published()
    {
        const string name = "compacted/quiet";
        var (writer, streams, records) = await WriteOneSegmentPerRecordAsync(name);
        var before = await World.ReadManifestAsync(name);
        Assert.Equal(Records, before.Segments.Count);

        var compactor = Compactor(writer);
        var removed = await compactor.CompactAsync(Candidate(writer, name), quiet: true, CancellationToken.None);

        Assert.Equal(Records - 1, removed);
        AssertRecords(records, await ReadAllAsync(streams, name));
        await writer.PublishAsync(draining: false);
        var after = await World.ReadManifestAsync(name);
        Assert.Single(after.Segments.RecordCounts);
        Assert.Equal(before.NextPosition, after.NextPosition);
        Assert.True(after.ToJson().Length < before.ToJson().Length / 5, $"manifest of {after.ToJson().Length} bytes");
        Assert.Single(writer.Queries.LoadSegments(writer.Database.LoadStream(name)!.StreamId));

        var (fresh, freshStreams) = StartNode(RestoreMode.Lazy);
        World.Counting.Reset();
        AssertRecords(records, await ReadAllAsync(freshStreams, name));
        Assert.Equal(1, World.ManifestGets(name));
        Assert.Equal(1, fresh.Segments.DownloadCount);
    }

    [Fact]
    public async Task Should_keep_replaced_objects_until_a_manifest_no_longer_lists_them_and_the_grace_has_passed()
    {
        const string name = "compacted/grace";
        var (writer, _, _) = await WriteOneSegmentPerRecordAsync(name);
        var compactor = Compactor(writer);
        await compactor.CompactAsync(Candidate(writer, name), quiet: true, CancellationToken.None);

        // Committed locally, not yet published: the manifest in the store still lists every old object.
        Assert.Equal(0, await compactor.DeleteReleasedAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(Records + 1, await StoredSegmentCountAsync(name));

        await writer.PublishAsync(draining: false);
        Assert.Equal(0, await compactor.DeleteReleasedAsync(TimeSpan.FromHours(1), CancellationToken.None));
        Assert.Equal(Records + 1, await StoredSegmentCountAsync(name));

        Assert.Equal(Records, await compactor.DeleteReleasedAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(1, await StoredSegmentCountAsync(name));
        Assert.Equal(0, writer.Queries.PendingDeletions(name));
        Assert.Single(Directory.GetFiles(writer.Files.StreamDirectory(name), "*.seg"));
    }

    [Fact]
    public async Task Should_read_identical_bytes_when_a_node_restored_the_old_manifest_and_its_segments_were_deleted_since()
    {
        const string name = "compacted/stale-reader";
        var (writer, _, records) = await WriteOneSegmentPerRecordAsync(name);
        var (stale, staleStreams) = StartNode(RestoreMode.Lazy);
        // The reader restores the manifest listing one segment per record and reads the first few.
        var head = await AskAsync<ReadCompleted>(staleStreams, new ReadStream(name, ReadStart.Beginning, null, 1));
        Assert.Equal(records[0], head.Records[0].ToArray());

        var compactor = Compactor(writer);
        await compactor.CompactAsync(Candidate(writer, name), quiet: true, CancellationToken.None);
        await writer.PublishAsync(draining: false);
        await compactor.DeleteReleasedAsync(TimeSpan.Zero, CancellationToken.None);

        AssertRecords(records, await ReadAllAsync(staleStreams, name));
        Assert.Equal(Records, stale.Queries.LoadSegments(stale.Database.LoadStream(name)!.StreamId).Count);
    }

    [Fact]
    public async Task Should_delete_the_merged_objects_after_the_grace_and_keep_the_old_list_when_the_stream_changed_before_the_commit()
    {
        const string name = "compacted/aborted";
        var (writer, _, records) = await WriteOneSegmentPerRecordAsync(name);
        var streamId = writer.Database.LoadStream(name)!.StreamId;
        var candidate = Candidate(writer, name);
        // Another compaction commits first: the planned rows are no longer there.
        var first = Compactor(writer);
        await first.CompactAsync(candidate, quiet: true, CancellationToken.None);
        var segmentsAfterFirst = writer.Queries.LoadSegments(streamId);
        var stale = new CompactSegmentsOperation(streamId, name, [.. Enumerable.Range(0, 2).Select(i => segmentsAfterFirst[0] with { Index = 99 + i })], []);

        Assert.False(await writer.WalWriter.Submit(stale));
        Assert.Equal(
            segmentsAfterFirst.Select(segment => (segment.Index, segment.StoredName, segment.Checksum)),
            writer.Queries.LoadSegments(streamId).Select(segment => (segment.Index, segment.StoredName, segment.Checksum)));
        var (_, reader) = StartNode(RestoreMode.Lazy);
        AssertRecords(records, await ReadAllAsync(reader, name));
    }

    [Fact]
    public async Task Should_keep_the_objects_an_unpublished_compaction_replaced_when_the_stream_is_forfeited()
    {
        const string name = "compacted/forfeited";
        var (writer, _, records) = await WriteOneSegmentPerRecordAsync(name);
        var compactor = Compactor(writer);
        Assert.Equal(Records - 1, await compactor.CompactAsync(Candidate(writer, name), quiet: true, CancellationToken.None));

        // Before the new layout is published another node takes the stream over from the manifest in
        // the store, which lists every replaced object; this node forfeits its rows.
        var row = writer.Database.LoadStream(name)!;
        Assert.True(await writer.WalWriter.Submit(new ForfeitStreamOperation(row.StreamId, name)));

        await compactor.DeleteReleasedAsync(TimeSpan.Zero, CancellationToken.None);
        var manifest = await World.ReadManifestAsync(name);
        Assert.Equal(Records, manifest.Segments.Count);
        Assert.Empty(manifest.Segments.ObjectNames!.Except(await StoredSegmentNamesAsync(name)));
        var (_, reader) = StartNode(RestoreMode.Lazy);
        AssertRecords(records, await ReadAllAsync(reader, name));
    }

    [Fact]
    public async Task Should_delete_the_replaced_objects_when_the_stream_was_evicted_before_the_grace_ended()
    {
        const string name = "compacted/evicted";
        var (writer, _, _) = await WriteOneSegmentPerRecordAsync(name);
        var compactor = Compactor(writer);
        Assert.Equal(Records - 1, await compactor.CompactAsync(Candidate(writer, name), quiet: true, CancellationToken.None));
        await writer.PublishAsync(draining: false);

        // As a hand-off or an idle eviction does: the rows go, then the stream's directory.
        var row = writer.Database.LoadStream(name)!;
        Assert.True(await writer.WalWriter.Submit(new EvictStreamOperation(row.StreamId, row.LastAccessMs)));
        writer.Segments.RemoveStreamFiles(name);

        Assert.Equal(Records, await compactor.DeleteReleasedAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(0, writer.Queries.PendingDeletions(name));
        var manifest = await World.ReadManifestAsync(name);
        Assert.Equal(manifest.Segments.ObjectNames!, await StoredSegmentNamesAsync(name));
    }

    [Fact]
    public async Task Should_not_commit_a_compaction_that_ends_after_a_clean_publish_gave_the_stream_up()
    {
        const string name = "compacted/given-up";
        var (writer, _, _) = await WriteOneSegmentPerRecordAsync(name);
        var mergedPut = World.Control.Hold(ObjectStoreOperation.Put, key => key.StartsWith(ObjectStoreKeys.SegmentsPrefix(name), StringComparison.Ordinal));
        var compaction = Compactor(writer).CompactAsync(Candidate(writer, name), quiet: true, CancellationToken.None);
        await mergedPut.WhenArrived();

        // A hand-off's (or a drain's) publish: marked drained cleanly, the node gives the stream up.
        await writer.PublishAsync(draining: true);
        mergedPut.Release();

        Assert.Equal(0, await compaction);
        var row = writer.Database.LoadStream(name)!;
        Assert.Equal(Records, writer.Queries.LoadSegments(row.StreamId).Count);
        // The stream can be evicted (its layout is the published one) and the merged object is queued.
        Assert.Equal(1, writer.Queries.PendingDeletions(name));
        Assert.True(await writer.WalWriter.Submit(new EvictStreamOperation(row.StreamId, row.LastAccessMs)));
    }

    [Fact]
    public async Task Should_call_off_the_compaction_in_flight_and_publish_every_record_when_the_node_drains()
    {
        const string name = "compacted/draining";
        const int records = 6;
        using var data = new TempDirectory();
        var host = await EngineHost.StartAsync(new StreamsEngineOptions
        {
            DataDirectory = data.Path,
            HoconOverrides = TrickleCompaction.Hocon,
            ObjectStoreDecorator = _ => World.Store,
        });
        await using (host)
        {
            await host.CreateAsync(name);
            var mergedPut = await TrickleCompaction.AppendHoldingTheFirstMergeAsync(
                World,
                name,
                records,
                async record => Assert.IsType<Appended>(await host.AppendAsync(name, [record])));
            await mergedPut.WhenArrived();
            await host.StopAsync();

            // The drain left no compaction running behind it, and published every record.
            Assert.Equal(0, World.Control.InFlight(ObjectStoreOperation.Put));
            var manifest = await World.ReadManifestAsync(name);
            Assert.True(manifest.DrainedClean);
            Assert.Equal(records, manifest.NextPosition);
            Assert.Equal(manifest.Segments.ObjectNames!, await StoredSegmentNamesAsync(name));
            mergedPut.Release();
        }

        var (_, reader) = StartNode(RestoreMode.Lazy);
        AssertRecords([.. Enumerable.Range(0, records).Select(TrickleCompaction.Record)], await ReadAllAsync(reader, name));
    }

    private async Task<(StreamTestNode Node, IActorRef Streams, List<byte[]> Records)> WriteOneSegmentPerRecordAsync(string name)
    {
        var (writer, streams) = StartNode(RestoreMode.None, SmallSegments);
        await AskAsync<StreamCreated>(streams, new CreateStream(name, ContentTypes.Default, null, null, false, []));
        var records = new List<byte[]>();
        for (var i = 0; i < Records; i++)
        {
            var record = TrickleCompaction.Record(i);
            records.Add(record);
            await AskAsync<Appended>(streams, new AppendToStream(name, ContentTypes.Default, [record], false, null, null));
            await writer.PublishAsync(draining: false);
        }

        return (writer, streams, records);
    }

    private static SegmentCompactor Compactor(StreamTestNode node) => node.NewCompactor();

    private static CompactionCandidate Candidate(StreamTestNode node, string name)
    {
        var row = node.Database.LoadStream(name)!;
        return new CompactionCandidate(row.StreamId, name, row.SealedThrough);
    }

    private async Task<int> StoredSegmentCountAsync(string name) => (await StoredSegmentNamesAsync(name)).Count;

    private async Task<IReadOnlyList<string>> StoredSegmentNamesAsync(string name)
    {
        var prefix = ObjectStoreKeys.SegmentsPrefix(name);
        var listed = await World.FileStore.ListAsync(prefix, null, 1000, CancellationToken.None);
        return [.. listed.Objects.Select(entry => entry.Key[prefix.Length..]).Order(StringComparer.Ordinal)];
    }

}
