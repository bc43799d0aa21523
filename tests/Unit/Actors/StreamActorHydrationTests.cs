using System.Text;
using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// A stream owner restoring its stream from the object store: the Hydrating state (stash, single
/// fetch, failure and timeout), restore-before-create, epochs after an unclean stop, the ownership
/// claim before the first append, and eviction. Each test has its own object store directory and
/// nodes (real SQLite in temp directories); a "writer" node produces the manifests and segments a
/// second, restoring node then reads.
/// </summary>
public sealed class StreamActorHydrationTests(ITestOutputHelper output) : ObjectStoreWorldTestKit(output)
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    // ---- Hydrating: stash, order, single flight ----------------------------------------------

    [Fact]
    public async Task Should_answer_waiting_messages_in_order_when_they_arrive_while_the_manifest_is_fetched()
    {
        var name = "orders/hydrating";
        await SeedAsync(name, count: 3, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy);
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        var probe = CreateTestProbe();

        streams.Tell(new DescribeStream(name), probe);
        streams.Tell(AppendOne(name, Payload("a")), probe);
        streams.Tell(AppendOne(name, Payload("b")), probe);
        streams.Tell(new CreateStream(name, Binary, null, null, false, []), probe);
        await gate.WhenArrived();
        gate.Release();

        // Nothing may be answered before the manifest is in: such an answer could only say what the
        // owner knew without it (not found, an empty tail, offsets from 0), and it would be the
        // probe's first message, which the expectations below, in order, would reject.
        var described = await probe.ExpectMsgAsync<StreamDescribed>(ReplyTimeout);
        Assert.Equal(new Offset(0, 3), described.Stream.Tail);
        Assert.Equal(new Offset(0, 4), (await probe.ExpectMsgAsync<Appended>(ReplyTimeout)).NextOffset);
        Assert.Equal(new Offset(0, 5), (await probe.ExpectMsgAsync<Appended>(ReplyTimeout)).NextOffset);
        Assert.False((await probe.ExpectMsgAsync<StreamCreated>(ReplyTimeout)).Created);
        Assert.Equal(1, World.ManifestGets(name));
    }

    [Fact]
    public async Task Should_acknowledge_appends_in_the_order_they_were_sent_when_they_wait_for_hydration_and_commit_together()
    {
        const int appends = 64;
        var name = "orders/pipelined";
        await SeedAsync(name, count: 1, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy);
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        var probe = CreateTestProbe();

        for (var i = 0; i < appends; i++)
        {
            streams.Tell(AppendOne(name, Payload($"r{i}")), probe);
        }

        streams.Tell(new DescribeStream(name), probe);
        await EnsureRoutedAsync(streams);
        await gate.WhenArrived();
        gate.Release();

        for (var i = 0; i < appends; i++)
        {
            Assert.Equal(new Offset(0, 2 + i), (await probe.ExpectMsgAsync<Appended>(ReplyTimeout)).NextOffset);
        }

        await probe.ExpectMsgAsync<StreamDescribed>(ReplyTimeout);
    }

    [Fact]
    public async Task Should_fetch_the_manifest_once_when_many_first_touches_arrive_concurrently()
    {
        const int readers = 24;
        var name = "orders/concurrent";
        var records = await SeedAsync(name, count: 4, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy);
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        var probes = Enumerable.Range(0, readers).Select(_ => CreateTestProbe()).ToList();

        Parallel.ForEach(probes, probe => streams.Tell(ReadFromStart(name), probe));
        await EnsureRoutedAsync(streams);
        await gate.WhenArrived();
        gate.Release();

        foreach (var probe in probes)
        {
            var read = await probe.ExpectMsgAsync<ReadCompleted>(ReplyTimeout);
            AssertRecords(records, read);
        }

        Assert.Equal(1, World.ManifestGets(name));
    }

    [Fact]
    public async Task Should_serve_a_cold_read_byte_identical_from_the_object_store_when_the_stream_is_hydrated()
    {
        var name = "cold/segments";
        // Five records per segment: twelve records make three segments.
        var records = await SeedAsync(name, count: 12, drainedClean: true, writerHocon: "streams.segment.target-rows = 5");
        var (node, streams) = StartNode(RestoreMode.Lazy);

        var read = await AskAsync<ReadCompleted>(streams, ReadFromStart(name));

        AssertRecords(records, read);
        Assert.Equal(new Offset(0, 12), read.Next);
        Assert.True(read.UpToDate);
        Assert.Equal(1, World.ManifestGets(name));
        Assert.Equal(3, World.Counting.Count(ObjectStoreOperation.Get, key => key.StartsWith(ObjectStoreKeys.SegmentsPrefix(name), StringComparison.Ordinal)));
        Assert.Equal(3, node.Segments.DownloadCount);
    }

    // ---- Hydration failure and timeout --------------------------------------------------------

    [Fact]
    public async Task Should_reject_every_waiting_sender_and_retry_on_the_next_message_when_the_manifest_is_corrupt()
    {
        var name = "broken/manifest";
        var records = await SeedAsync(name, count: 2, drainedClean: true);
        var good = (await World.ReadManifestBytesAsync(name))!;
        await World.WriteManifestBytesAsync(name, Encoding.UTF8.GetBytes("{ this is not a manifest"));
        var (_, streams) = StartNode(RestoreMode.Lazy);
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));

        var probes = await SendWhileHeldAsync(streams, gate, ReadFromStart(name), AppendOne(name, Payload("x")), new DescribeStream(name));
        gate.Release();

        await ExpectUnavailableAsync(probes, "could not be restored");
        World.Control.ClearRules();
        await World.WriteManifestBytesAsync(name, good);
        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(name)));
    }

    [Fact]
    public async Task Should_reject_every_waiting_sender_and_retry_on_the_next_message_when_the_object_store_throws()
    {
        var name = "broken/store";
        var records = await SeedAsync(name, count: 2, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy);
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));

        var probes = await SendWhileHeldAsync(streams, gate, ReadFromStart(name), AppendOne(name, Payload("x")), new DescribeStream(name));
        gate.Fail(new ObjectStoreException("the store is down"));

        await ExpectUnavailableAsync(probes, "the store is down");
        World.Control.ClearRules();
        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(name)));
    }

    [Fact]
    public async Task Should_reject_every_waiting_sender_and_retry_on_the_next_message_when_hydration_times_out()
    {
        var name = "broken/slow";
        var records = await SeedAsync(name, count: 2, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy, "streams.restore.hydration-timeout = 400ms");
        // Never released by the test: the store does not answer until the rule is dropped.
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));

        var probes = await SendWhileHeldAsync(streams, gate, ReadFromStart(name), AppendOne(name, Payload("x")), new DescribeStream(name));

        await ExpectUnavailableAsync(probes, "took too long");
        // The fetch nobody waits for any more is given up, not left hanging on the store.
        await Poll.UntilAsync(() => World.Control.InFlight(ObjectStoreOperation.Get) == 0, ReplyTimeout, "the held manifest GET is cancelled");
        World.Control.ClearRules();
        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(name)));
    }

    [Fact]
    public async Task Should_hand_a_request_back_to_the_supervisor_when_it_reaches_an_owner_whose_hydration_failed()
    {
        var name = "broken/hand-back";
        await SeedAsync(name, count: 1, drainedClean: true);
        var node = NewNode(RestoreMode.Lazy);
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        // The test actor plays the supervisor: it gets the request to stop and whatever is handed back.
        var owner = ChildActorOf(StreamActor.Props(name, node.Dependencies));
        var first = CreateTestProbe();
        var next = CreateTestProbe();

        owner.Tell(ReadFromStart(name), first);
        await gate.WhenArrived();
        gate.Fail(new ObjectStoreException("the store is down"));
        await ExpectUnavailableAsync([first], "the store is down");
        await ExpectMsgAsync<StreamSupervisorActor.Passivate>(ReplyTimeout);
        var retry = ReadFromStart(name);
        owner.Tell(retry, next);

        Assert.Equal(retry, await ExpectMsgAsync<ReadStream>(ReplyTimeout));
        Assert.Equal(next.Ref, LastSender);
        // Handed back, not answered as well: once a later request is handed back too, the owner has
        // handled the retry, and an answer it gave would already be in the queue of the retry's sender.
        var marker = CreateTestProbe();
        owner.Tell(new DescribeStream(name), marker);
        await ExpectMsgAsync<DescribeStream>(ReplyTimeout);
        Assert.Equal(marker.Ref, LastSender);
        Assert.False(next.HasMessages, "the owner answered a request it handed back");
    }

    [Fact]
    public async Task Should_still_stop_when_hydration_fails_after_the_supervisor_asked_an_evicted_owner_to_stop()
    {
        var name = "evicted/then-broken";
        var records = await SeedAsync(name, count: 2, drainedClean: true);
        var node = NewNode(RestoreMode.Lazy, "streams.passivate-after = 200ms");
        var owner = ChildActorOf(StreamActor.Props(name, node.Dependencies));
        Watch(owner);
        var probe = CreateTestProbe();
        owner.Tell(ReadFromStart(name), probe);
        AssertRecords(records, await probe.ExpectMsgAsync<ReadCompleted>(ReplyTimeout));
        // Idle and fully published: it drops its rows and asks to stop.
        await ExpectMsgAsync<StreamSupervisorActor.Passivate>(ReplyTimeout);
        Assert.Null(node.Database.LoadStream(name));

        // A request overtakes the stop, and the object store fails its hydration.
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        owner.Tell(ReadFromStart(name), probe);
        await gate.WhenArrived();
        owner.Tell(new StreamSupervisorActor.StopWhenIdle(), TestActor);
        gate.Fail(new ObjectStoreException("the store is down"));

        await ExpectUnavailableAsync([probe], "the store is down");
        await ExpectMsgAsync<StreamSupervisorActor.Passivate>(ReplyTimeout);
        await ExpectTerminatedAsync(owner, ReplyTimeout);
    }

    [Fact]
    public async Task Should_reject_the_overflow_at_once_when_more_requests_wait_than_the_stash_limit()
    {
        var name = "busy/stream";
        var records = await SeedAsync(name, count: 2, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy, "streams.restore.stash-limit = 2");
        var gate = World.Control.Hold(ObjectStoreOperation.Get, ObjectStoreWorld.ManifestOf(name));
        var probes = Enumerable.Range(0, 4).Select(_ => CreateTestProbe()).ToList();

        foreach (var probe in probes)
        {
            streams.Tell(ReadFromStart(name), probe);
        }

        // Answered while the manifest is still being fetched.
        foreach (var overflow in probes.Skip(2))
        {
            var rejected = await overflow.ExpectMsgAsync<StreamRejected>(ReplyTimeout);
            Assert.Equal(ErrorCode.Unavailable, rejected.Code);
            Assert.Contains("too many requests", rejected.Message, StringComparison.Ordinal);
        }

        // The two stashed requests are not answered before the manifest is in: an answer given without
        // it could hold no records, and it would be the first message each expectation below reads.
        gate.Release();
        foreach (var waiting in probes.Take(2))
        {
            AssertRecords(records, await waiting.ExpectMsgAsync<ReadCompleted>(ReplyTimeout));
        }
    }

    // ---- Missing and deleted streams ---------------------------------------------------------

    [Fact]
    public async Task Should_answer_not_found_to_read_append_describe_delete_and_details_when_no_manifest_exists()
    {
        var name = "never/written";
        var (_, streams) = StartNode(RestoreMode.Lazy);

        object[] replies =
        [
            await AskAsync<object>(streams, ReadFromStart(name)),
            await AskAsync<object>(streams, AppendOne(name, Payload("x"))),
            await AskAsync<object>(streams, new DescribeStream(name)),
            await AskAsync<object>(streams, new DeleteStream(name)),
            await AskAsync<object>(streams, new GetStreamDetails(name)),
        ];

        Assert.All(replies, reply => Assert.Equal(ErrorCode.StreamNotFound, Assert.IsType<StreamRejected>(reply).Code));
        Assert.Equal(1, World.ManifestGets(name));
        Assert.Null(await World.ReadManifestBytesAsync(name));
    }

    [Fact]
    public async Task Should_answer_not_found_and_create_above_the_tombstone_generation_when_the_manifest_is_a_tombstone()
    {
        var name = "deleted/remotely";
        await SeedAsync(name, count: 3, drainedClean: true);
        var (writer, writerStreams) = Writer();
        await AskAsync<StreamDeleted>(writerStreams, new DeleteStream(name));
        await writer.PublishAsync(draining: false);
        var tombstone = await World.ReadManifestAsync(name);
        Assert.True(tombstone.Deleted);
        var (node, streams) = StartNode(RestoreMode.Lazy);

        Assert.Equal(ErrorCode.StreamNotFound, (await AskAsync<StreamRejected>(streams, ReadFromStart(name))).Code);
        Assert.Equal(ErrorCode.StreamNotFound, (await AskAsync<StreamRejected>(streams, AppendOne(name, Payload("x")))).Code);
        var created = await AskAsync<StreamCreated>(streams, new CreateStream(name, Binary, null, null, false, [Payload("new")]));
        await node.PublishAsync(draining: false);

        Assert.True(created.Created);
        Assert.Equal(new Offset(0, 1), created.Stream.Tail);
        var manifest = await World.ReadManifestAsync(name);
        Assert.False(manifest.Deleted);
        Assert.True(manifest.Generation > tombstone.Generation, $"generation {manifest.Generation} must be above the tombstone's {tombstone.Generation}");
        Assert.Equal(1, manifest.NextPosition);
    }

    [Fact]
    public async Task Should_stay_deleted_when_a_stream_deleted_here_is_touched_again_before_its_tombstone_is_published()
    {
        var name = "deleted/locally";
        var (node, streams) = StartNode(RestoreMode.Lazy, "streams.passivate-after = 200ms");
        await AskAsync<StreamCreated>(streams, new CreateStream(name, Binary, null, null, false, [Payload("a"), Payload("b")]));
        await node.PublishAsync(draining: false);
        await AskAsync<StreamDeleted>(streams, new DeleteStream(name));
        // The tombstone is queued but not published (no upload round runs): the object store still
        // holds the live manifest. The owner passivates; the next touch starts a fresh one.
        await AwaitConditionAsync(async () => await ActiveStreamsAsync(streams) == 0, ReplyTimeout);

        var reply = await AskAsync<object>(streams, ReadFromStart(name));

        Assert.Equal(ErrorCode.StreamNotFound, Assert.IsType<StreamRejected>(reply).Code);
        Assert.Null(node.Database.LoadStream(name));
    }

    // ---- Create on a name the object store already holds ------------------------------------

    [Theory]
    [InlineData(RestoreMode.None)]
    [InlineData(RestoreMode.Lazy)]
    public async Task Should_restore_instead_of_overwriting_when_a_create_names_a_stream_with_a_remote_manifest(RestoreMode mode)
    {
        var name = $"existing/{mode}";
        var records = await SeedAsync(name, count: 3, drainedClean: true, contentType: ContentTypes.Json);
        var before = (await World.ReadManifestBytesAsync(name))!;
        var (_, streams) = StartNode(mode);

        var same = await AskAsync<StreamCreated>(streams, new CreateStream(name, ContentTypes.Json, null, null, false, []));
        var different = await AskAsync<StreamRejected>(streams, new CreateStream(name, "text/plain", null, null, false, []));

        Assert.False(same.Created);
        Assert.Equal(new Offset(0, 3), same.Stream.Tail);
        Assert.Equal(ErrorCode.StreamAlreadyExistsWithDifferentConfig, different.Code);
        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(name)));
        Assert.Equal(before, await World.ReadManifestBytesAsync(name));
        Assert.Equal(1, World.ManifestGets(name));
    }

    // ---- What must survive a restore ----------------------------------------------------------

    [Fact]
    public async Task Should_keep_producer_dedupe_and_stream_seq_when_a_stream_is_hydrated()
    {
        var name = "producers/kept";
        await SeedAsync(name, count: 1, drainedClean: true);
        var (writer, writerStreams) = Writer();
        await AskAsync<Appended>(writerStreams, AppendOne(name, Payload("p0"), new ProducerClaim("p", 0, 0), "0001"));
        await AskAsync<Appended>(writerStreams, AppendOne(name, Payload("p1"), new ProducerClaim("p", 0, 1), "0002"));
        await writer.PublishAsync(draining: true);
        var (_, streams) = StartNode(RestoreMode.Lazy);

        var retry = await AskAsync<Appended>(streams, AppendOne(name, Payload("p1"), new ProducerClaim("p", 0, 1)));
        var gap = await AskAsync<StreamRejected>(streams, AppendOne(name, Payload("p3"), new ProducerClaim("p", 0, 3)));
        var next = await AskAsync<Appended>(streams, AppendOne(name, Payload("p2"), new ProducerClaim("p", 0, 2)));
        var regression = await AskAsync<StreamRejected>(streams, AppendOne(name, Payload("s"), producer: null, streamSeq: "0002"));
        var advance = await AskAsync<Appended>(streams, AppendOne(name, Payload("s"), producer: null, streamSeq: "0003"));

        Assert.True(retry.Duplicate);
        Assert.Equal(new Offset(0, 3), retry.NextOffset);
        Assert.Equal(ErrorCode.ProducerSeqGap, gap.Code);
        Assert.Equal(2, gap.ExpectedSeq);
        Assert.False(next.Duplicate);
        Assert.Equal(new Offset(0, 4), next.NextOffset);
        Assert.Equal(ErrorCode.StreamSeqRegression, regression.Code);
        Assert.Equal(new Offset(0, 5), advance.NextOffset);
    }

    // ---- Epochs and the ownership claim ------------------------------------------------------

    [Fact]
    public async Task Should_bump_the_epoch_and_publish_a_claim_before_acknowledging_the_first_append_when_the_manifest_is_unclean()
    {
        var name = "unclean/claim";
        await SeedAsync(name, count: 3, drainedClean: false);
        var published = await World.ReadManifestAsync(name);
        Assert.False(published.DrainedClean);
        var (_, streams) = StartNode(RestoreMode.Lazy);
        var probe = CreateTestProbe();

        var described = await AskAsync<StreamDescribed>(streams, new DescribeStream(name));
        // That the append waits for the claim is shown where the claim fails
        // (Should_reject_the_first_append_and_keep_serving_reads_when_the_claim_cannot_be_published):
        // an append acknowledged before its claim would be answered Appended there, not rejected.
        streams.Tell(AppendOne(name, Payload("after")), probe);
        var appended = await probe.ExpectMsgAsync<Appended>(ReplyTimeout);

        Assert.Equal(new Offset(1, 3), described.Stream.Tail);
        Assert.Equal(new Offset(1, 4), appended.NextOffset);
        var claim = await World.ReadManifestAsync(name);
        Assert.Equal(published.Generation + 1, claim.Generation);
        Assert.False(claim.DrainedClean);
        Assert.Equal([new ManifestEpoch(0, 0), new ManifestEpoch(1, 3)], claim.Epochs);
        Assert.Equal(3, claim.NextPosition);
        Assert.Equal(1, World.ManifestPuts(name));
    }

    [Fact]
    public async Task Should_keep_the_epoch_and_still_claim_before_the_first_append_when_the_manifest_was_drained_clean()
    {
        var name = "clean/claim";
        await SeedAsync(name, count: 3, drainedClean: true);
        var published = await World.ReadManifestAsync(name);
        var (_, streams) = StartNode(RestoreMode.Lazy);

        var first = await AskAsync<Appended>(streams, AppendOne(name, Payload("first")));
        var second = await AskAsync<Appended>(streams, AppendOne(name, Payload("second")));

        Assert.Equal(new Offset(0, 4), first.NextOffset);
        Assert.Equal(new Offset(0, 5), second.NextOffset);
        var claim = await World.ReadManifestAsync(name);
        Assert.Equal(published.Generation + 1, claim.Generation);
        Assert.False(claim.DrainedClean);
        Assert.Equal([new ManifestEpoch(0, 0)], claim.Epochs);
        Assert.Equal(1, World.ManifestPuts(name));
    }

    [Fact]
    public async Task Should_answer_offset_lost_with_where_history_continues_when_a_read_names_an_offset_of_the_lost_tail()
    {
        var name = "unclean/lost-tail";
        var records = await SeedAsync(name, count: 3, drainedClean: false);
        var (_, writerStreams) = Writer();
        // Acknowledged by the old owner but never published: lost when it stopped.
        var lostTail = await AskAsync<Appended>(writerStreams, AppendOne(name, Payload("lost-1")));
        await AskAsync<Appended>(writerStreams, AppendOne(name, Payload("lost-2")));
        Assert.Equal(new Offset(0, 4), lostTail.NextOffset);
        var (_, streams) = StartNode(RestoreMode.Lazy);

        var lost = await AskAsync<StreamRejected>(streams, new ReadStream(name, ReadStart.At(new Offset(0, 4)), null, MaxReadBytes));
        var atPublishedTail = await AskAsync<ReadCompleted>(streams, new ReadStream(name, ReadStart.At(new Offset(0, 3)), null, MaxReadBytes));
        var inside = await AskAsync<ReadCompleted>(streams, new ReadStream(name, ReadStart.At(new Offset(0, 1)), null, MaxReadBytes));
        var appended = await AskAsync<Appended>(streams, AppendOne(name, Payload("new")));

        Assert.Equal(ErrorCode.OffsetInLostTail, lost.Code);
        Assert.Equal(new Offset(1, 3), lost.NextOffset);
        Assert.Empty(atPublishedTail.Records);
        Assert.True(atPublishedTail.UpToDate);
        Assert.Equal(new Offset(1, 3), atPublishedTail.Next);
        AssertRecords(records.Skip(1).ToList(), inside);
        Assert.Equal(new Offset(1, 4), appended.NextOffset);
        Assert.True(appended.NextOffset.CompareTo(lostTail.NextOffset) > 0);
    }

    [Fact]
    public async Task Should_reject_the_first_append_and_keep_serving_reads_when_the_claim_cannot_be_published()
    {
        var name = "claim/fails";
        var records = await SeedAsync(name, count: 2, drainedClean: true);
        var (_, streams) = StartNode(RestoreMode.Lazy);
        World.Control.Fail(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(name), () => new ObjectStoreException("no writes today"));

        var rejected = await AskAsync<StreamRejected>(streams, AppendOne(name, Payload("x")));
        var read = await AskAsync<ReadCompleted>(streams, ReadFromStart(name));
        World.Control.ClearRules();
        var appended = await AskAsync<Appended>(streams, AppendOne(name, Payload("x")));

        Assert.Equal(ErrorCode.Unavailable, rejected.Code);
        AssertRecords(records, read);
        Assert.Equal(new Offset(0, 3), appended.NextOffset);
    }

    [Fact]
    public async Task Should_still_stop_when_the_claim_fails_after_the_supervisor_asked_the_owner_to_stop()
    {
        var name = "claim/fails-while-stopping";
        await SeedAsync(name, count: 1, drainedClean: true);
        var node = NewNode(RestoreMode.Lazy);
        // The test actor plays the supervisor: its StopWhenIdle, sent once, must end in a stop.
        var owner = ChildActorOf(StreamActor.Props(name, node.Dependencies));
        Watch(owner);
        var gate = World.Control.Hold(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(name));
        var appender = CreateTestProbe();

        // The first append of a taken-over stream claims it; idle passivation overtakes the claim,
        // and the object store is down.
        owner.Tell(AppendOne(name, Payload("x")), appender);
        await gate.WhenArrived();
        owner.Tell(new StreamSupervisorActor.StopWhenIdle(), TestActor);
        gate.Fail(new ObjectStoreException("the store is down"));

        await ExpectUnavailableAsync([appender], "object store is unavailable");
        await ExpectTerminatedAsync(owner, ReplyTimeout);
    }

    // ---- Eviction under lazy restore ---------------------------------------------------------

    [Fact]
    public async Task Should_drop_local_rows_and_hydrate_again_when_an_idle_fully_published_stream_passivates_under_lazy_restore()
    {
        var name = "idle/evicted";
        var records = await SeedAsync(name, count: 6, drainedClean: true, writerHocon: "streams.segment.target-rows = 5");
        var (node, streams) = StartNode(RestoreMode.Lazy, "streams.passivate-after = 200ms");

        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(name)));
        Assert.NotNull(node.Database.LoadStream(name));
        await AwaitConditionAsync(
            async () => await ActiveStreamsAsync(streams) == 0 && node.Database.LoadStream(name) is null,
            ReplyTimeout);
        Assert.False(Directory.Exists(node.Files.StreamDirectory(name)));

        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(name)));
        Assert.Equal(2, World.ManifestGets(name));
    }

    [Fact]
    public async Task Should_keep_a_fork_source_local_when_it_goes_idle_while_a_local_fork_still_reads_through_it()
    {
        var source = "forks/source";
        var fork = "forks/fork";
        var records = await SeedAsync(source, count: 3, drainedClean: true);
        var (writer, writerStreams) = Writer();
        await AskAsync<StreamCreated>(writerStreams, new Streams.Actors.Protocol.ForkMessages.CreateFork(fork, null, null, null, false, [], source, null, 0));
        await writer.PublishAsync(draining: true);
        var (node, streams) = StartNode(RestoreMode.Lazy, "streams.passivate-after = 200ms");

        // The fork gets a record of its own that is not published (no upload round runs here), so the
        // fork stays local; the source is fully published and goes idle.
        await AskAsync<Appended>(streams, AppendOne(fork, Payload("own")));
        AssertRecords(records, await AskAsync<ReadCompleted>(streams, ReadFromStart(source)));
        await AwaitConditionAsync(async () => await ActiveStreamsAsync(streams) == 0, ReplyTimeout);

        Assert.NotNull(node.Database.LoadStream(source));
        AssertRecords([.. records, Payload("own")], await AskAsync<ReadCompleted>(streams, ReadFromStart(fork)));
    }

    [Fact]
    public async Task Should_keep_a_sliding_ttl_stream_alive_when_it_was_read_after_its_manifest_and_then_went_idle()
    {
        var name = "idle/ttl";
        var clock = new ManualTimeProvider();
        var writer = Own(new StreamTestNode(World.Store, RestoreMode.None, clock: clock));
        var writerStreams = Sys.ActorOf(StreamSupervisorActor.Props(writer.Dependencies), "ttl-writer");
        await AskAsync<StreamCreated>(writerStreams, new CreateStream(name, Binary, TtlSeconds: 10, null, false, [Payload("kept")]));
        await writer.PublishAsync(draining: true);
        var node = Own(new StreamTestNode(World.Store, RestoreMode.Lazy, "streams.passivate-after = 200ms\nstreams.touch-persist-interval = 0s", clock));
        var streams = Sys.ActorOf(StreamSupervisorActor.Props(node.Dependencies), "ttl-node");

        // Read 8 s after the manifest was published: the sliding TTL now runs until 18 s.
        clock.Advance(TimeSpan.FromSeconds(8));
        await AskAsync<ReadCompleted>(streams, ReadFromStart(name));
        await AwaitConditionAsync(async () => await ActiveStreamsAsync(streams) == 0, ReplyTimeout);
        clock.Advance(TimeSpan.FromSeconds(4));
        var reply = await AskAsync<object>(streams, ReadFromStart(name));

        AssertRecords([Payload("kept")], Assert.IsType<ReadCompleted>(reply));
    }

    // ---- helpers -------------------------------------------------------------------------------

    private (StreamTestNode Node, IActorRef Streams)? writer;

    /// <summary>The node that writes what the restoring node later reads; created on first use.</summary>
    private (StreamTestNode Node, IActorRef Streams) Writer(string? hocon = null) => writer ??= StartNode(RestoreMode.None, hocon);

    /// <summary>
    /// Creates <paramref name="name"/> on the writer with <paramref name="count"/> records, publishes
    /// it, and resets the call counts.
    /// </summary>
    private async Task<List<byte[]>> SeedAsync(
        string name,
        int count,
        bool drainedClean,
        string contentType = Binary,
        string? writerHocon = null)
    {
        var (node, streams) = Writer(writerHocon);
        var records = Enumerable.Range(0, count)
            .Select(i => contentType == ContentTypes.Json ? Encoding.UTF8.GetBytes($"{{\"i\":{i}}}") : Payload($"{name}#{i}"))
            .ToList();
        await AskAsync<StreamCreated>(streams, new CreateStream(name, contentType, null, null, false, records));
        await node.PublishAsync(draining: drainedClean);
        // Counts from here on are the restoring node's alone (the writer's create checked for a
        // remote manifest and its publish wrote one).
        World.Counting.Reset();
        return records;
    }

    /// <summary>
    /// Sends one message per new probe while the manifest fetch is held, and returns once the owner
    /// has them all in its mailbox: the supervisor has answered a later question, so it has forwarded
    /// them, and the fetch they wait for has started.
    /// </summary>
    private async Task<List<Akka.TestKit.TestProbe>> SendWhileHeldAsync(IActorRef streams, ControllableObjectStore.Gate gate, params object[] messages)
    {
        var probes = new List<Akka.TestKit.TestProbe>();
        foreach (var message in messages)
        {
            var probe = CreateTestProbe();
            streams.Tell(message, probe);
            probes.Add(probe);
        }

        await EnsureRoutedAsync(streams);
        await gate.WhenArrived();
        return probes;
    }

    private static async Task ExpectUnavailableAsync(IEnumerable<Akka.TestKit.TestProbe> probes, string reason)
    {
        foreach (var probe in probes)
        {
            var rejected = await probe.ExpectMsgAsync<StreamRejected>(ReplyTimeout);
            Assert.Equal(ErrorCode.Unavailable, rejected.Code);
            Assert.Contains(reason, rejected.Message, StringComparison.Ordinal);
        }
    }

    private async Task EnsureRoutedAsync(IActorRef streams) => await ActiveStreamsAsync(streams);

    private static Task<int> ActiveStreamsAsync(IActorRef streams) =>
        streams.Ask<int>(new StreamSupervisorActor.GetActiveStreamCount(), AskTimeout);

    private static ReadStream ReadFromStart(string name) => new(name, ReadStart.Beginning, null, MaxReadBytes);

    private static AppendToStream AppendOne(string name, byte[] record, ProducerClaim? producer = null, string? streamSeq = null) =>
        new(name, Binary, [record], false, streamSeq, producer);
}
