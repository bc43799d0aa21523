using Akka.Actor;
using Streams.Actors.Domain;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.Actors;

/// <summary>The idempotent-producer matrix: acceptance, dedupe, fencing, gaps and its order against Stream-Seq.</summary>
public sealed class StreamActorProducerTests(ITestOutputHelper output) : StreamActorTestKit(output)
{
    private const string Name = "payments";

    private static ProducerClaim Producer(long epoch, long seq, string id = "producer-a") => new(id, epoch, seq);

    [Fact]
    public async Task Should_accept_and_echo_the_producer_when_a_new_producer_starts_at_seq_zero()
    {
        var stream = await StartCreatedStreamAsync(Name);

        var appended = await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0)));

        Assert.False(appended.Duplicate);
        Assert.Equal(new ProducerState("producer-a", 0, 0), appended.Producer);
        Assert.Equal(At(1), appended.NextOffset);
    }

    [Fact]
    public async Task Should_answer_a_duplicate_with_the_highest_accepted_seq_when_an_older_seq_is_retried()
    {
        var stream = await StartCreatedStreamAsync(Name);
        for (var seq = 0; seq <= 2; seq++)
        {
            await AppendAsync(stream, Append(Name, $"m{seq}", producer: Producer(0, seq)));
        }

        var retry = await AppendAsync(stream, Append(Name, "m1 again", producer: Producer(0, 1)));

        Assert.True(retry.Duplicate);
        Assert.Equal(new ProducerState("producer-a", 0, 2), retry.Producer);
        Assert.Equal(At(3), retry.NextOffset);
        Assert.Equal(["m0", "m1", "m2"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_reject_with_the_current_epoch_when_a_stale_epoch_writes()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "new owner", producer: Producer(1, 0)));

        var rejected = await RejectedAsync(stream, Append(Name, "zombie", producer: Producer(0, 1)));

        Assert.Equal(ErrorCode.ProducerEpochStale, rejected.Code);
        Assert.Equal(1, rejected.ProducerEpoch);
        Assert.Equal(["new owner"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_report_expected_and_received_seq_when_a_seq_skips_ahead()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0)));

        var rejected = await RejectedAsync(stream, Append(Name, "d", producer: Producer(0, 3)));

        Assert.Equal(ErrorCode.ProducerSeqGap, rejected.Code);
        Assert.Equal(1, rejected.ExpectedSeq);
        Assert.Equal(3, rejected.ReceivedSeq);
    }

    [Fact]
    public async Task Should_reject_a_new_epoch_when_it_does_not_start_at_seq_zero()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0)));

        var rejected = await RejectedAsync(stream, Append(Name, "b", producer: Producer(1, 1)));

        Assert.Equal(ErrorCode.ProducerEpochRequiresSeqZero, rejected.Code);
    }

    [Fact]
    public async Task Should_accept_a_new_epoch_when_it_starts_at_seq_zero()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0)));
        await AppendAsync(stream, Append(Name, "b", producer: Producer(0, 1)));

        var appended = await AppendAsync(stream, Append(Name, "c", producer: Producer(1, 0)));

        Assert.False(appended.Duplicate);
        Assert.Equal(new ProducerState("producer-a", 1, 0), appended.Producer);
    }

    [Fact]
    public async Task Should_report_a_gap_expecting_zero_when_an_unknown_producer_starts_above_zero()
    {
        var stream = await StartCreatedStreamAsync(Name);

        var rejected = await RejectedAsync(stream, Append(Name, "a", producer: Producer(0, 5)));

        Assert.Equal(ErrorCode.ProducerSeqGap, rejected.Code);
        Assert.Equal(0, rejected.ExpectedSeq);
        Assert.Equal(5, rejected.ReceivedSeq);
    }

    [Fact]
    public async Task Should_dedupe_before_checking_stream_seq_when_a_producer_retries_with_the_same_stream_seq()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0), streamSeq: "0001"));

        var retry = await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0), streamSeq: "0001"));

        Assert.True(retry.Duplicate);
        Assert.Equal(["a"], Texts(await ReadAllAsync(stream, Name)));
    }

    [Fact]
    public async Task Should_leave_the_producer_state_unchanged_when_an_append_is_rejected_for_its_stream_seq()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0), streamSeq: "b"));
        await RejectedAsync(stream, Append(Name, "b", producer: Producer(0, 1), streamSeq: "a"));

        var appended = await AppendAsync(stream, Append(Name, "b", producer: Producer(0, 1), streamSeq: "c"));

        Assert.False(appended.Duplicate);
        Assert.Equal(new ProducerState("producer-a", 0, 1), appended.Producer);
    }

    [Fact]
    public async Task Should_track_each_producer_separately_when_two_producers_share_a_stream()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a0", producer: Producer(0, 0, "a")));

        var other = await AppendAsync(stream, Append(Name, "b0", producer: Producer(0, 0, "b")));

        Assert.False(other.Duplicate);
        Assert.Equal(At(2), other.NextOffset);
    }

    [Fact]
    public async Task Should_still_recognise_a_duplicate_when_the_stream_owner_was_restarted()
    {
        var stream = await StartCreatedStreamAsync(Name);
        await AppendAsync(stream, Append(Name, "a", producer: Producer(0, 0)));
        Watch(stream);
        stream.Tell(PoisonPill.Instance);
        await ExpectTerminatedAsync(stream);

        var restarted = StartStream(Name);
        var retry = await AppendAsync(restarted, Append(Name, "a", producer: Producer(0, 0)));

        Assert.True(retry.Duplicate);
        Assert.Equal(At(1), retry.NextOffset);
    }
}
