using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>Expiry (sliding TTL and absolute), delete and re-create, driven by a clock the test moves.</summary>
public sealed class StreamActorLifecycleTests(ITestOutputHelper output) : StreamActorTestKit(output)
{
    private const string Name = "sessions/42";
    private const long TtlSeconds = 60;
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(10);

    private TimeSpan Ttl => TimeSpan.FromSeconds(TtlSeconds);

    // ---- expiry ------------------------------------------------------------------------------

    [Fact]
    public async Task Should_answer_not_found_when_a_stream_has_been_idle_longer_than_its_ttl()
    {
        var stream = await StartCreatedStreamAsync(Name, ttlSeconds: TtlSeconds);

        Engine.Clock.Advance(Ttl + TimeSpan.FromSeconds(1));

        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, new DescribeStream(Name))).Code);
        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, Append(Name, "late"))).Code);
    }

    [Fact]
    public async Task Should_keep_a_stream_alive_when_reads_arrive_within_its_ttl()
    {
        var stream = await StartCreatedStreamAsync(Name, ttlSeconds: TtlSeconds);

        Engine.Clock.Advance(Ttl * 2 / 3);
        await ReadAllAsync(stream, Name);
        Engine.Clock.Advance(Ttl * 2 / 3);
        stream.Tell(new DescribeStream(Name));

        await ExpectMsgAsync<StreamDescribed>();
    }

    [Fact]
    public async Task Should_not_extend_the_ttl_when_a_stream_is_only_described()
    {
        var stream = await StartCreatedStreamAsync(Name, ttlSeconds: TtlSeconds);

        Engine.Clock.Advance(Ttl * 2 / 3);
        stream.Tell(new DescribeStream(Name));
        await ExpectMsgAsync<StreamDescribed>();
        Engine.Clock.Advance(Ttl * 2 / 3);

        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, new DescribeStream(Name))).Code);
    }

    [Fact]
    public async Task Should_answer_not_found_when_the_absolute_expiry_has_passed()
    {
        var stream = StartStream(Name);
        stream.Tell(Create(Name, expiresAt: Engine.Clock.GetUtcNow() + TimeSpan.FromSeconds(30)));
        await ExpectMsgAsync<StreamCreated>();
        await AppendAsync(stream, Append(Name, "activity does not extend an absolute expiry"));

        Engine.Clock.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, ReadFrom(Name, ReadStart.Beginning))).Code);
    }

    [Fact]
    public async Task Should_create_a_fresh_stream_when_a_put_arrives_after_expiry()
    {
        var stream = await StartCreatedStreamAsync(Name, ttlSeconds: TtlSeconds);
        await AppendAsync(stream, Append(Name, "old"));
        stream.Tell(new DescribeStream(Name));
        var before = await ExpectMsgAsync<StreamDescribed>();

        Engine.Clock.Advance(Ttl + TimeSpan.FromSeconds(1));
        stream.Tell(Create(Name, ttlSeconds: TtlSeconds));
        var recreated = await ExpectMsgAsync<StreamCreated>();

        Assert.True(recreated.Created);
        Assert.NotEqual(before.Stream.Incarnation, recreated.Stream.Incarnation);
        Assert.Equal(Offset.Zero, recreated.Stream.Tail);
        Assert.Empty((await ReadAllAsync(stream, Name)).Records);
    }

    [Fact]
    public async Task Should_find_the_stream_expired_when_its_owner_restarts_after_the_ttl()
    {
        var stream = await StartCreatedStreamAsync(Name, ttlSeconds: TtlSeconds);
        Watch(stream);
        stream.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(stream);

        Engine.Clock.Advance(Ttl + TimeSpan.FromSeconds(1));
        var restarted = StartStream(Name);

        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(restarted, new DescribeStream(Name))).Code);
    }

    // ---- delete and re-create ----------------------------------------------------------------

    [Fact]
    public async Task Should_share_nothing_with_the_deleted_stream_when_a_stream_is_recreated()
    {
        var producer = new ProducerClaim("p", Epoch: 0, Seq: 0);
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "old", producer: producer, streamSeq: "9"));
        stream.Tell(new DeleteStream(Name));
        await ExpectMsgAsync<StreamDeleted>();

        stream.Tell(Create(Name));
        var recreated = await ExpectMsgAsync<StreamCreated>();
        var appended = await AppendAsync(stream, Append(Name, "new", producer: producer, streamSeq: "1"));

        Assert.True(recreated.Created);
        Assert.False(appended.Duplicate);
        Assert.Equal(At(1), appended.NextOffset);
        Assert.Equal(["new"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_answer_not_found_when_a_deleted_stream_is_used()
    {
        var stream = await StartCreatedStreamAsync(Name);
        stream.Tell(new DeleteStream(Name));
        await ExpectMsgAsync<StreamDeleted>();

        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, Append(Name, "x"))).Code);
        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, new DeleteStream(Name))).Code);
        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(stream, new DescribeStream(Name))).Code);
    }

    [Fact]
    public async Task Should_answer_parked_readers_with_not_found_when_the_stream_is_deleted()
    {
        var stream = await StartCreatedStreamAsync(Name);
        var reader = CreateTestProbe();
        // The owner handles its mailbox in order: the read is parked before the delete arrives. Had
        // the read been answered at once, that answer would be the reader's first message, not the 404.
        stream.Tell(ReadFrom(Name, ReadStart.Tail, LongWait), reader);

        stream.Tell(new DeleteStream(Name));
        await ExpectMsgAsync<StreamDeleted>();

        Assert.Equal(ErrorCode.StreamNotFound, (await reader.ExpectMsgAsync<StreamRejected>()).Code);
    }

    [Fact]
    public async Task Should_answer_an_append_in_flight_when_a_delete_overtakes_its_commit()
    {
        var stream = await StartCreatedStreamAsync(Name);
        var writer = CreateTestProbe();
        var gate = await WriterGate.CloseAsync(Engine.Writer);

        stream.Tell(Append(Name, "in flight"), writer);
        await InFlightAsync(stream, writer);
        // The delete is in the owner's mailbox before the gate opens, so ahead of the append's commit
        // report, which the writer can send only after it; the delete's own write queues behind the gate.
        stream.Tell(new DeleteStream(Name));
        gate.Open();

        // The append was committed before the delete (the writer keeps submission order), so it is
        // acknowledged; what matters is that its sender is answered at all.
        await ExpectMsgAsync<StreamDeleted>();
        var appended = await writer.ExpectMsgAsync<Appended>();
        Assert.Equal(At(1), appended.NextOffset);
    }

    [Fact]
    public async Task Should_answer_an_append_in_flight_when_the_stream_expires_before_its_commit()
    {
        var stream = await StartCreatedStreamAsync(Name, ttlSeconds: TtlSeconds);
        var writer = CreateTestProbe();
        var gate = await WriterGate.CloseAsync(Engine.Writer);

        stream.Tell(Append(Name, "in flight"), writer);
        // The append must be taken before the clock passes the TTL, or it would be refused as expired.
        await InFlightAsync(stream, writer);
        Engine.Clock.Advance(Ttl + TimeSpan.FromSeconds(1));
        stream.Tell(new DescribeStream(Name));
        gate.Open();

        await writer.ExpectMsgAsync<Appended>();
        Assert.Equal(ErrorCode.StreamNotFound, (await ExpectMsgAsync<StreamRejected>()).Code);
    }

    /// <summary>
    /// Returns once the owner has handled the append sent before (it answers the details query in
    /// mailbox order, without waiting for commits) and checks that the append is not answered yet:
    /// an acknowledgement sent while the append was handled would already be in the writer's queue.
    /// </summary>
    private async Task InFlightAsync(IActorRef stream, Akka.TestKit.TestProbe writer)
    {
        stream.Tell(new GetStreamDetails(Name));
        await ExpectMsgAsync<StreamDetailsReported>();
        Assert.False(writer.HasMessages, "the append was answered before its commit");
    }
}
