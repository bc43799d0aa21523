using System.Text;
using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.PipelineMessages;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// Manifest fencing (docs/adr/0009-fencing-manifest-writes.md) with two nodes on one object store:
/// node A owns a stream, node B takes it over, and A — stale — tries to publish again. A's publish
/// must change nothing in the store, A must give the stream up and serve B's history, and a node
/// that publishes a manifest and crashes before its local commit must recognise its own publish.
/// </summary>
public sealed class ManifestFencingTests(ITestOutputHelper output) : ObjectStoreWorldTestKit(output)
{
    private const string Name = "orders/fenced";

    [Fact]
    public async Task Should_refuse_the_stale_owners_publish_and_leave_the_new_owners_manifest_when_the_stream_was_taken_over()
    {
        var (a, aStreams) = StartNode(RestoreMode.None);
        await AskAsync<StreamCreated>(aStreams, new CreateStream(Name, Binary, null, null, false, [Payload("a1")]));
        await a.PublishAsync(draining: false);
        var (b, bStreams) = await TakeOverAsync(Payload("b1"));
        var newOwners = await ManifestBytesAsync();

        // A never learnt of B: it still acknowledges appends, but may not publish them.
        await AskAsync<Appended>(aStreams, AppendOne(Payload("a2")));
        await Assert.ThrowsAsync<ManifestConflictException>(() => a.PublishAsync(draining: false));

        Assert.Equal(newOwners, await ManifestBytesAsync());
        AssertRecords([Payload("a1"), Payload("b1")], await AskAsync<ReadCompleted>(bStreams, ReadFromStart()));
        var (_, freshStreams) = StartNode(RestoreMode.Lazy);
        AssertRecords([Payload("a1"), Payload("b1")], await AskAsync<ReadCompleted>(freshStreams, ReadFromStart()));
        Assert.Equal(b.Database.WriterId, (await ManifestAsync()).Writer);
    }

    [Fact]
    public async Task Should_drop_its_state_and_serve_the_new_owners_history_when_the_uploader_finds_the_stream_taken_over()
    {
        var (a, aStreams) = StartNode(RestoreMode.None);
        await AskAsync<StreamCreated>(aStreams, new CreateStream(Name, Binary, null, null, false, [Payload("a1")]));
        await a.PublishAsync(draining: false);
        await TakeOverAsync(Payload("b1"));
        var newOwners = await ManifestBytesAsync();
        await AskAsync<Appended>(aStreams, AppendOne(Payload("a2")));
        var uploader = Sys.ActorOf(UploaderActor.Props(a.Publisher, a.Queries, a.Backlog, a.WalWriter, a.Settings, TimeProvider.System));

        await a.Sealer.SealDueAsync(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), force: true, CancellationToken.None);
        var round = await uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout);

        Assert.Equal(0, round.Failed);
        Assert.Equal(newOwners, await ManifestBytesAsync());
        // The owner on A was told and restored B's manifest; a2 is gone with A's claim on the stream.
        await AwaitAssertAsync(
            async () => AssertRecords([Payload("a1"), Payload("b1")], await AskAsync<ReadCompleted>(aStreams, ReadFromStart())),
            AskTimeout);
        Assert.True(a.Database.LoadStream(Name)!.Restored, "A's row for the stream is not the one restored from B's manifest");
    }

    [Fact]
    public async Task Should_restore_the_newer_manifest_and_append_after_it_when_a_claim_finds_the_stream_taken_over()
    {
        var (writer, writerStreams) = StartNode(RestoreMode.None);
        await AskAsync<StreamCreated>(writerStreams, new CreateStream(Name, Binary, null, null, false, [Payload("a1")]));
        await writer.PublishAsync(draining: false);
        // C restores the stream (reads only) before B takes it over; its restored state is then stale.
        var (_, cStreams) = StartNode(RestoreMode.Lazy);
        await AskAsync<ReadCompleted>(cStreams, ReadFromStart());
        var (_, bStreams) = await TakeOverAsync(Payload("b1"));
        var bTail = (await AskAsync<ReadCompleted>(bStreams, ReadFromStart())).Next;

        var appended = await AskAsync<Appended>(cStreams, AppendOne(Payload("c1")));

        var history = new[] { Payload("a1"), Payload("b1"), Payload("c1") };
        AssertRecords(history, await AskAsync<ReadCompleted>(cStreams, ReadFromStart()));
        // C's claim is a takeover of B's manifest: a new epoch, after every offset B handed out.
        Assert.True(appended.NextOffset.CompareTo(bTail) > 0, $"{appended.NextOffset} does not sort after B's {bTail}");
        Assert.Equal(3, (await ManifestAsync()).Epochs.Count);
    }

    [Fact]
    public async Task Should_recognise_its_own_manifest_and_publish_again_when_it_crashed_between_the_put_and_the_local_commit()
    {
        var (a, aStreams) = StartNode(RestoreMode.None);
        await AskAsync<StreamCreated>(aStreams, new CreateStream(Name, Binary, null, null, false, [Payload("a1")]));
        await a.PublishAsync(draining: false);
        await AskAsync<Appended>(aStreams, AppendOne(Payload("a2")));
        World.Control.FailAfter(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(Name), () => new IOException("simulated crash after the put"));
        await Assert.ThrowsAsync<IOException>(() => a.PublishAsync(draining: false));
        World.Control.ClearRules();
        Assert.Equal(2, (await ManifestAsync()).Generation);
        Assert.Equal(1, a.Database.LoadManifestVersion(Name)!.Generation);
        World.Counting.Reset();

        await a.PublishAsync(draining: false);

        var manifest = await ManifestAsync();
        Assert.Equal(2, manifest.Generation);
        Assert.Equal(2, manifest.NextPosition);
        // The refused put, the read that recognises the manifest as its own, the put that replaces it.
        Assert.Equal(2, World.ManifestPuts(Name));
        Assert.Equal(1, World.ManifestGets(Name));
        Assert.Equal(2, a.Database.LoadManifestVersion(Name)!.Generation);
        var (_, freshStreams) = StartNode(RestoreMode.Lazy);
        AssertRecords([Payload("a1"), Payload("a2")], await AskAsync<ReadCompleted>(freshStreams, ReadFromStart()));
    }

    [Fact]
    public async Task Should_keep_its_appends_and_retry_the_publish_when_the_manifest_found_in_the_store_does_not_parse()
    {
        var (a, aStreams) = StartNode(RestoreMode.None);
        await AskAsync<StreamCreated>(aStreams, new CreateStream(Name, Binary, null, null, false, [Payload("a1")]));
        await a.PublishAsync(draining: false);
        await AskAsync<Appended>(aStreams, AppendOne(Payload("a2")));
        // A's put reaches the store but its reply is lost, so A's next put is refused and A reads the
        // object to judge it; that read returns a prefix of it (a connection cut short, say).
        World.Control.FailAfter(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(Name), () => new IOException("reply lost"));
        await Assert.ThrowsAsync<IOException>(() => a.PublishAsync(draining: false));
        World.Control.ClearRules();
        var whole = await ManifestBytesAsync();
        await World.WriteManifestBytesAsync(Name, whole[..(whole.Length / 2)]);

        var refused = await Record.ExceptionAsync(() => a.PublishAsync(draining: false));

        // Not a takeover: A keeps the stream and everything it acknowledged, and publishes once the
        // manifest reads whole again.
        Assert.IsType<ObjectStoreException>(refused);
        AssertRecords([Payload("a1"), Payload("a2")], await AskAsync<ReadCompleted>(aStreams, ReadFromStart()));
        await World.WriteManifestBytesAsync(Name, whole);
        await a.PublishAsync(draining: false);
        Assert.Equal(2, (await ManifestAsync()).Generation);
        var (_, freshStreams) = StartNode(RestoreMode.Lazy);
        AssertRecords([Payload("a1"), Payload("a2")], await AskAsync<ReadCompleted>(freshStreams, ReadFromStart()));
    }

    [Fact]
    public async Task Should_not_publish_the_tombstone_nor_delete_segments_when_a_stale_owner_deletes_a_taken_over_stream()
    {
        var (a, aStreams) = StartNode(RestoreMode.None);
        await AskAsync<StreamCreated>(aStreams, new CreateStream(Name, Binary, null, null, false, [Payload("a1")]));
        await a.PublishAsync(draining: false);
        await TakeOverAsync(Payload("b1"));
        var newOwners = await ManifestBytesAsync();
        var segments = await SegmentKeysAsync();

        await AskAsync<StreamDeleted>(aStreams, new DeleteStream(Name));
        var tombstone = Assert.Single(a.Queries.PendingTombstones());
        await Assert.ThrowsAsync<ManifestConflictException>(() => a.Publisher.PublishTombstoneAsync(tombstone, CancellationToken.None));

        Assert.Equal(newOwners, await ManifestBytesAsync());
        Assert.Equal(segments, await SegmentKeysAsync());
    }

    [Fact]
    public void Should_take_a_manifest_for_its_own_only_when_the_writer_generation_and_segments_all_match()
    {
        var node = NewNode(RestoreMode.None);
        var fence = new ManifestFence(World.Store, node.Database);
        var own = new StreamManifest
        {
            Name = Name,
            Writer = node.Database.WriterId,
            Generation = 4,
            ContentType = Binary,
            NextPosition = 2,
            Segments = new ManifestSegments { RecordCounts = [1, 1], ByteSizes = [10, 10], Checksums = ["s0", "s1"] },
        };

        Assert.True(fence.IsOwn(own, generationToWrite: 4, ["s0", "s1", "s2"]));
        Assert.False(fence.IsOwn(own with { Writer = "another-node" }, generationToWrite: 4, ["s0", "s1", "s2"]));
        Assert.False(fence.IsOwn(own, generationToWrite: 3, ["s0", "s1", "s2"]));
        // A copy of this disk that fell behind: the manifest lists a segment it never sealed.
        Assert.False(fence.IsOwn(own, generationToWrite: 4, ["s0", "other"]));
        Assert.False(fence.IsOwn(own, generationToWrite: 4, ["s0"]));
        // Written before fencing: accepted at the local generation or the next only.
        Assert.True(fence.IsOwn(own with { Writer = null }, generationToWrite: 5, ["s0", "s1"]));
        Assert.False(fence.IsOwn(own with { Writer = null }, generationToWrite: 6, ["s0", "s1"]));
    }

    // ---- helpers -------------------------------------------------------------------------------

    /// <summary>B restores the stream on another disk, appends (claiming it first) and publishes.</summary>
    private async Task<(StreamTestNode Node, IActorRef Streams)> TakeOverAsync(byte[] record)
    {
        var (b, bStreams) = StartNode(RestoreMode.Lazy);
        await AskAsync<Appended>(bStreams, AppendOne(record));
        await b.PublishAsync(draining: false);
        Assert.Equal(b.Database.WriterId, (await ManifestAsync()).Writer);
        return (b, bStreams);
    }

    private async Task<byte[]> ManifestBytesAsync() =>
        await World.FileStore.GetAsync(ObjectStoreKeys.ManifestKey(Name), CancellationToken.None) ?? throw new InvalidOperationException("no manifest");

    private async Task<StreamManifest> ManifestAsync() => StreamManifest.Parse(await ManifestBytesAsync());

    private async Task<List<string>> SegmentKeysAsync() =>
        [.. (await World.FileStore.ListAsync(ObjectStoreKeys.SegmentsPrefix(Name), null, 1000, CancellationToken.None)).Objects.Select(entry => entry.Key)];

    private static ReadStream ReadFromStart() => new(Name, ReadStart.Beginning, null, MaxReadBytes);

    private static AppendToStream AppendOne(byte[] record) => new(Name, Binary, [record], false, null, null);
}
