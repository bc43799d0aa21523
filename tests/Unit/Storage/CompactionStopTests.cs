using System.Text;
using Akka.Actor;
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
/// Compaction meets the end of a stream's life on a node: a drain, a clean publish that gives the
/// stream up, an eviction that removes its local directory. A compaction in flight then either ends
/// before the final publish or is called off (its merged objects queued for deletion), it never
/// commits a layout nobody will publish, and the deletion of what it replaced goes on.
/// </summary>
public sealed class CompactionStopTests(ITestOutputHelper output) : ObjectStoreWorldTestKit(output)
{
    private const int Records = 6;
    private const string SmallSegments = "streams.segment.target-rows = 1000";

    /// <summary>Each record sealed and published on its own; merges of the whole small tail as soon as one is possible.</summary>
    private const string Trickle = """
        streams.segment.target-rows = 1000
        streams.segment.max-age = 10ms
        streams.segment.check-interval = 10ms
        streams.upload.check-interval = 10ms
        streams.upload.manifest-min-interval = 0s
        streams.compaction.check-interval = 50ms
        streams.compaction.quiet-after = 0s
        """;

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Should_delete_the_replaced_objects_when_the_stream_was_evicted_before_the_grace_ended()
    {
        const string name = "compacted/evicted";
        var (writer, streams) = StartNode(RestoreMode.None, SmallSegments);
        await WriteOneSegmentPerRecordAsync(writer, streams, name);
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
        var (writer, streams) = StartNode(RestoreMode.None, SmallSegments);
        await WriteOneSegmentPerRecordAsync(writer, streams, name);
        var mergedPut = World.Control.Hold(ObjectStoreOperation.Put, FirstSegmentKey(name));
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
        using var data = new TempDirectory();
        var host = await EngineHost.StartAsync(new StreamsEngineOptions
        {
            DataDirectory = data.Path,
            HoconOverrides = Trickle,
            ObjectStoreDecorator = _ => World.Store,
        });
        await using (host)
        {
            await host.CreateAsync(name);
            ControllableObjectStore.Gate? mergedPut = null;
            for (var i = 0; i < Records; i++)
            {
                Assert.IsType<Appended>(await host.AppendAsync(name, [Record(i)]));
                await Eventually.AssertAsync(async () => Assert.Equal(i + 1, (await World.ReadManifestAsync(name)).NextPosition), Settle);
                // Only a merge starting at the first record puts an object there again.
                mergedPut ??= World.Control.Hold(ObjectStoreOperation.Put, FirstSegmentKey(name));
            }

            await mergedPut!.WhenArrived();
            await host.StopAsync();

            // The drain left no compaction running behind it, and published every record.
            Assert.Equal(0, World.Control.InFlight(ObjectStoreOperation.Put));
            var manifest = await World.ReadManifestAsync(name);
            Assert.True(manifest.DrainedClean);
            Assert.Equal(Records, manifest.NextPosition);
            Assert.Equal(manifest.Segments.ObjectNames!, await StoredSegmentNamesAsync(name));
            mergedPut.Release();
        }

        var (_, reader) = StartNode(RestoreMode.Lazy);
        AssertRecords([.. Enumerable.Range(0, Records).Select(Record)], await ReadAllAsync(reader, name));
    }

    private static byte[] Record(int index) => Encoding.UTF8.GetBytes($"{{\"n\":{index},\"pad\":\"{new string('x', index)}\"}}");

    private static async Task WriteOneSegmentPerRecordAsync(StreamTestNode writer, IActorRef streams, string name)
    {
        await AskAsync<StreamCreated>(streams, new CreateStream(name, ContentTypes.Default, null, null, false, []));
        for (var i = 0; i < Records; i++)
        {
            await AskAsync<Appended>(streams, new AppendToStream(name, ContentTypes.Default, [Record(i)], false, null, null));
            await writer.PublishAsync(draining: false);
        }
    }

    /// <summary>Keys of segment objects starting at position 0: after the first seal, only a merge writes one.</summary>
    private static Func<string, bool> FirstSegmentKey(string name) =>
        key => key.StartsWith(ObjectStoreKeys.SegmentsPrefix(name) + ObjectStoreKeys.NewSegmentObjectName(0)[..17], StringComparison.Ordinal);

    private static SegmentCompactor Compactor(StreamTestNode node) => node.NewCompactor();

    private static CompactionCandidate Candidate(StreamTestNode node, string name)
    {
        var row = node.Database.LoadStream(name)!;
        return new CompactionCandidate(row.StreamId, name, row.SealedThrough);
    }

    private async Task<IReadOnlyList<string>> StoredSegmentNamesAsync(string name)
    {
        var prefix = ObjectStoreKeys.SegmentsPrefix(name);
        var listed = await World.FileStore.ListAsync(prefix, null, 1000, CancellationToken.None);
        return [.. listed.Objects.Select(entry => entry.Key[prefix.Length..]).Order(StringComparer.Ordinal)];
    }
}
