using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>Appends, ordering, content type, Stream-Seq, closure, durability and live waiters.</summary>
public sealed class StreamActorTests(ITestOutputHelper output) : StreamActorTestKit(output)
{
    private const string Name = "orders/eu";
    private static readonly TimeSpan LongWait = TimeSpan.FromSeconds(10);

    // ---- ordering ----------------------------------------------------------------------------

    [Fact]
    public async Task Should_assign_consecutive_offsets_in_arrival_order_when_many_appends_arrive_at_once()
    {
        const int appends = 200;
        var stream = await StartCreatedStreamAsync(Name);

        for (var i = 0; i < appends; i++)
        {
            stream.Tell(Append(Name, $"m{i}"));
        }

        var offsets = new List<Offset>();
        await foreach (var reply in ReceiveNAsync(appends, TimeSpan.FromSeconds(30)))
        {
            offsets.Add(Assert.IsType<Appended>(reply).NextOffset);
        }

        // Replies may overtake each other; the offsets they carry must still be exactly 1..N.
        Assert.Equal(Enumerable.Range(1, appends).Select(i => At(i)), offsets.Order());
        var read = await ReadAllAsync(stream, Name);
        Assert.Equal(Enumerable.Range(0, appends).Select(i => $"m{i}"), Texts(read));
        Assert.Equal(At(appends), read.Next);
        Assert.True(read.UpToDate);
    }

    [Fact]
    public async Task Should_order_offset_strings_like_the_offsets_when_appends_follow_each_other()
    {
        var stream = await StartCreatedStreamAsync(Name);
        var previous = Offset.Zero.ToString();

        for (var i = 0; i < 12; i++)
        {
            var next = (await AppendAsync(stream, Append(Name, $"m{i}"))).NextOffset.ToString();
            Assert.True(string.CompareOrdinal(next, previous) > 0, $"{next} should sort after {previous}");
            previous = next;
        }
    }

    // ---- content type ------------------------------------------------------------------------

    [Fact]
    public async Task Should_reject_an_append_when_its_content_type_differs_from_the_stream()
    {
        var stream = await StartCreatedStreamAsync(Name);

        var rejected = await RejectedAsync(stream, Append(Name, "{}", contentType: ContentTypes.Json));

        Assert.Equal(ErrorCode.ContentTypeMismatch, rejected.Code);
        Assert.Empty((await ReadAllAsync(stream, Name)).Records);
    }

    [Fact]
    public async Task Should_accept_an_append_when_its_content_type_differs_only_in_case_and_parameters()
    {
        var stream = await StartCreatedStreamAsync(Name);

        var appended = await AppendAsync(stream, Append(Name, "hello", contentType: "TEXT/Plain; charset=utf-8"));

        Assert.Equal(At(1), appended.NextOffset);
    }

    // ---- Stream-Seq --------------------------------------------------------------------------

    [Theory]
    [InlineData("2", "10")]
    [InlineData("a", "B")]
    [InlineData("5", "5")]
    public async Task Should_reject_a_stream_seq_when_it_does_not_increase_bytewise(string first, string second)
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "one", streamSeq: first));

        var rejected = await RejectedAsync(stream, Append(Name, "two", streamSeq: second));

        Assert.Equal(ErrorCode.StreamSeqRegression, rejected.Code);
        Assert.Equal(["one"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_accept_a_stream_seq_when_it_increases_bytewise()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "one", streamSeq: "09"));

        var appended = await AppendAsync(stream, Append(Name, "two", streamSeq: "10"));

        Assert.Equal(At(2), appended.NextOffset);
    }

    // ---- closure -----------------------------------------------------------------------------

    [Fact]
    public async Task Should_close_without_moving_the_tail_when_a_close_only_request_arrives()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a"));

        var closed = await AppendAsync(stream, CloseOnly(Name));

        Assert.True(closed.Closed);
        Assert.Equal(At(1), closed.NextOffset);
        var read = await ReadAllAsync(stream, Name);
        Assert.Equal(["a"], Texts(read));
        Assert.True(read.Closed);
        Assert.Equal(At(1), read.Next);
    }

    [Fact]
    public async Task Should_append_and_close_in_one_step_when_a_body_carries_the_close_flag()
    {
        var stream = await StartCreatedStreamAsync(Name);

        var closed = await AppendAsync(stream, Append(Name, "last", close: true));

        Assert.True(closed.Closed);
        Assert.Equal(At(1), closed.NextOffset);
        var read = await ReadAllAsync(stream, Name);
        Assert.Equal(["last"], Texts(read));
        Assert.True(read.Closed);
    }

    [Fact]
    public async Task Should_reject_an_append_with_the_final_offset_when_the_stream_is_closed()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "last", close: true));

        var rejected = await RejectedAsync(stream, Append(Name, "late"));
        var rejectedClose = await RejectedAsync(stream, Append(Name, "late", close: true));

        foreach (var rejection in new[] { rejected, rejectedClose })
        {
            Assert.Equal(ErrorCode.StreamClosed, rejection.Code);
            Assert.True(rejection.Closed);
            Assert.Equal(At(1), rejection.NextOffset);
        }

        Assert.Equal(["last"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_answer_a_duplicate_when_the_closing_producer_tuple_is_retried()
    {
        var stream = await StartCreatedStreamAsync(Name);
        var closer = new ProducerClaim("writer-1", Epoch: 0, Seq: 0);
        await AppendAsync(stream, Append(Name, "final", producer: closer, close: true));

        var retry = await AppendAsync(stream, Append(Name, "a different body", producer: closer, close: true));
        var next = await RejectedAsync(stream, Append(Name, "more", producer: closer with { Seq = 1 }));

        Assert.True(retry.Duplicate);
        Assert.True(retry.Closed);
        Assert.Equal(At(1), retry.NextOffset);
        Assert.Equal(ErrorCode.StreamClosed, next.Code);
        Assert.Equal(["final"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_succeed_again_when_a_closed_stream_is_closed_again()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a"));

        var first = await AppendAsync(stream, CloseOnly(Name));
        var second = await AppendAsync(stream, CloseOnly(Name));

        Assert.True(second.Closed);
        Assert.Equal(first.NextOffset, second.NextOffset);
    }

    [Fact]
    public async Task Should_report_closed_when_a_stream_is_created_closed()
    {
        var stream = StartStream(Name);
        stream.Tell(Create(Name, closed: true));

        var created = await ExpectMsgAsync<StreamCreated>();
        var rejected = await RejectedAsync(stream, Append(Name, "late"));

        Assert.True(created.Stream.Closed);
        Assert.Equal(ErrorCode.StreamClosed, rejected.Code);
    }

    // ---- durability before acknowledgement ----------------------------------------------------

    [Fact]
    public async Task Should_ack_and_show_an_append_only_when_its_transaction_has_committed()
    {
        var stream = await StartCreatedStreamAsync(Name);
        var gate = await WriterGate.CloseAsync(Engine.Writer);

        // The owner answers in mailbox order: had it acknowledged the append at once, the ack would
        // arrive before the answer to the read sent after it, and this would fail.
        stream.Tell(Append(Name, "durable"));
        stream.Tell(ReadFrom(Name, ReadStart.Beginning));
        var readBeforeCommit = await ExpectMsgAsync<ReadCompleted>();
        var indexBeforeCommit = Engine.Database.LoadStream(Name)!.NextPosition;

        gate.Open();
        var appended = await ExpectMsgAsync<Appended>();
        // Read from the index itself the moment the ack is in: the record's transaction has committed.
        var indexAtAck = Engine.Database.LoadStream(Name)!.NextPosition;
        var readAfterAck = await ReadAllAsync(stream, Name);

        Assert.Empty(readBeforeCommit.Records);
        Assert.Equal(At(0), readBeforeCommit.Next);
        Assert.Equal(0, indexBeforeCommit);
        Assert.Equal(At(1), appended.NextOffset);
        Assert.Equal(1, indexAtAck);
        Assert.Equal(["durable"], Texts(readAfterAck));
    }

    [Fact]
    public async Task Should_not_acknowledge_an_append_when_its_commit_fails()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "kept"));

        await DiskFull.Begin(Engine.Writer);
        var rejected = await RejectedAsync(stream, Append(Name, new string('x', 256 * 1024)));
        await DiskFull.End(Engine.Writer);

        Assert.Equal(ErrorCode.Unavailable, rejected.Code);
        Assert.Equal(["kept"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_continue_from_the_committed_tail_when_an_earlier_commit_failed()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "kept"));
        await DiskFull.Begin(Engine.Writer);
        await RejectedAsync(stream, Append(Name, new string('x', 256 * 1024)));
        await DiskFull.End(Engine.Writer);

        var appended = await AppendAsync(stream, Append(Name, "after"));

        Assert.Equal(At(2), appended.NextOffset);
        Assert.Equal(["kept", "after"], Texts(await ReadAllAsync(stream, Name)));
    }

    // ---- live waiters ------------------------------------------------------------------------

    [Fact]
    public async Task Should_wake_a_parked_reader_with_the_data_when_an_append_commits()
    {
        var stream = await StartCreatedStreamAsync(Name);
        var reader = CreateTestProbe();
        stream.Tell(ReadFrom(Name, ReadStart.Tail, LongWait), reader);
        await ParkedAsync(stream);

        await AppendAsync(stream, Append(Name, "news"));

        var read = await reader.ExpectMsgAsync<ReadCompleted>();
        Assert.Equal(["news"], Texts(read));
        Assert.Equal(At(0), read.From);
        Assert.Equal(At(1), read.Next);
        Assert.False(read.TimedOut);
        Assert.True(read.UpToDate);
    }

    [Fact]
    public async Task Should_wake_a_parked_reader_with_closed_when_the_stream_closes()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a"));
        var reader = CreateTestProbe();
        stream.Tell(ReadFrom(Name, ReadStart.At(At(1)), LongWait), reader);
        await ParkedAsync(stream);

        await AppendAsync(stream, CloseOnly(Name));

        var read = await reader.ExpectMsgAsync<ReadCompleted>();
        Assert.Empty(read.Records);
        Assert.True(read.Closed);
        Assert.True(read.UpToDate);
        Assert.Equal(At(1), read.Next);
    }

    [Fact]
    public async Task Should_answer_timed_out_when_a_wait_ends_without_data()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a"));

        stream.Tell(ReadFrom(Name, ReadStart.Tail, TimeSpan.FromMilliseconds(200)));

        var read = await ExpectMsgAsync<ReadCompleted>();
        Assert.True(read.TimedOut);
        Assert.True(read.UpToDate);
        Assert.Empty(read.Records);
        Assert.Equal(At(1), read.Next);
    }

    [Fact]
    public async Task Should_answer_at_once_when_a_waiting_read_starts_before_the_tail()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a"));
        await AppendAsync(stream, Append(Name, "b"));

        stream.Tell(ReadFrom(Name, ReadStart.At(At(1)), LongWait));

        var read = await ExpectMsgAsync<ReadCompleted>();
        Assert.Equal(["b"], Texts(read));
        Assert.False(read.TimedOut);
    }

    [Fact]
    public async Task Should_answer_closed_at_once_when_a_waiting_read_reaches_the_tail_of_a_closed_stream()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", close: true));

        stream.Tell(ReadFrom(Name, ReadStart.Tail, LongWait));

        var read = await ExpectMsgAsync<ReadCompleted>(TimeSpan.FromSeconds(1));
        Assert.True(read.Closed);
        Assert.Empty(read.Records);
    }

    /// <summary>
    /// Returns once the owner has handled every message sent to it before (it answers in mailbox
    /// order), so the reads sent before are parked, not still on their way. Had a read been
    /// answered at once instead, its reader's first message would be that empty answer, which the
    /// test's next expectation would see.
    /// </summary>
    private async Task ParkedAsync(IActorRef stream)
    {
        stream.Tell(new DescribeStream(Name));
        await ExpectMsgAsync<StreamDescribed>();
    }
}
