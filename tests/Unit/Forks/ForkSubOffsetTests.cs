using Streams.Actors.Domain;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Forks;

public sealed class ForkSubOffsetTests(ITestOutputHelper output) : ForkActorTestKit(output)
{
    [Fact]
    public async Task Should_materialise_the_first_bytes_of_the_next_record_when_forking_at_a_binary_sub_offset()
    {
        var created = await CreateAsync("source", PlainText, null, "first");
        await AppendAsync("source", PlainText, "second");

        var fork = await ForkAsync(Fork("fork", "source", at: created.Tail, subOffset: 3));
        await AppendAsync("fork", PlainText, "!");

        Assert.Equal(At(2), fork.Tail);
        Assert.Equal(["first", "sec", "!"], await TextsAsync("fork"));
        Assert.Equal(["first", "second"], await TextsAsync("source"));
    }

    [Fact]
    public async Task Should_append_the_initial_body_after_the_materialised_prefix()
    {
        await CreateAsync("source", PlainText, null, "hello");

        await ForkAsync(Fork("fork", "source", at: At(0), subOffset: 3, body: "XY"));

        Assert.Equal(["hel", "XY"], await TextsAsync("fork"));
    }

    [Fact]
    public async Task Should_count_messages_of_the_append_when_forking_a_json_stream_at_a_sub_offset()
    {
        await CreateAsync("source", Json, null, "1", "2", "3");
        await AppendAsync("source", Json, "4", "5");

        await ForkAsync(Fork("start", "source", at: At(0), subOffset: 2));
        await ForkAsync(Fork("second-append", "source", at: At(3), subOffset: 2));
        await ForkAsync(Fork("mid-append", "source", at: At(1), subOffset: 2));

        Assert.Equal(["1", "2"], await TextsAsync("start"));
        Assert.Equal(["1", "2", "3", "4", "5"], await TextsAsync("second-append"));
        Assert.Equal(["1", "2", "3"], await TextsAsync("mid-append"));
    }

    [Fact]
    public async Task Should_reject_a_json_sub_offset_beyond_the_messages_of_the_append()
    {
        await CreateAsync("source", Json, null, "1", "2", "3");
        await AppendAsync("source", Json, "4", "5");

        var overshoot = await RejectedAsync(Fork("fork", "source", at: At(3), subOffset: 3));
        var pastMidAppend = await RejectedAsync(Fork("fork", "source", at: At(1), subOffset: 3));

        Assert.Equal(ErrorCode.InvalidHeader, overshoot.Code);
        Assert.Equal(ErrorCode.InvalidHeader, pastMidAppend.Code);
    }

    [Fact]
    public async Task Should_reject_a_binary_sub_offset_beyond_the_record_or_past_the_tail()
    {
        await CreateAsync("source", PlainText, null, "hi");

        var overshoot = await RejectedAsync(Fork("fork", "source", at: At(0), subOffset: 5));
        var atTail = await RejectedAsync(Fork("fork", "source", subOffset: 1));
        var beyondTail = await RejectedAsync(Fork("fork", "source", at: new Offset(9999999999999999, 9999999999999999)));

        Assert.Equal(ErrorCode.InvalidHeader, overshoot.Code);
        Assert.Equal(ErrorCode.InvalidHeader, atTail.Code);
        Assert.Equal(ErrorCode.InvalidOffset, beyondTail.Code);
    }

    [Fact]
    public async Task Should_compose_sub_offsets_across_a_chain_of_forks()
    {
        await CreateAsync("l0", PlainText, null, "abcdef");
        await ForkAsync(Fork("l1", "l0", at: At(0), subOffset: 4));

        await ForkAsync(Fork("l2", "l1", at: At(0), subOffset: 2));
        await AppendAsync("l2", PlainText, "Z");

        Assert.Equal(["abcd"], await TextsAsync("l1"));
        Assert.Equal(["ab", "Z"], await TextsAsync("l2"));
    }

    [Fact]
    public async Task Should_count_json_messages_of_an_inherited_append_only_up_to_the_fork_position()
    {
        // l1 inherits the first two messages of a three-message append; l2 forks l1 inside that
        // range, so "the rest of the append" as l1 sees it ends at l1's fork position.
        await CreateAsync("l0", Json, null, "1", "2", "3");
        await ForkAsync(Fork("l1", "l0", at: At(2)));
        await AppendAsync("l1", Json, "x");

        var overshoot = await RejectedAsync(Fork("l2", "l1", at: At(1), subOffset: 2));
        await ForkAsync(Fork("l2", "l1", at: At(1), subOffset: 1));

        Assert.Equal(ErrorCode.InvalidHeader, overshoot.Code);
        Assert.Equal(["1", "2"], await TextsAsync("l2"));
    }

    [Fact]
    public async Task Should_answer_a_matching_fork_recreate_as_existing_and_a_different_sub_offset_as_a_conflict()
    {
        await CreateAsync("source", PlainText, null, "hello");
        await ForkAsync(Fork("fork", "source", at: At(0), subOffset: 2));

        var again = await AskAsync<StreamCreated>(Fork("fork", "source", at: At(0), subOffset: 2, contentType: PlainText));
        var different = await RejectedAsync(Fork("fork", "source", at: At(0), subOffset: 3));
        var plainPut = await RejectedAsync(new Streams.Actors.Protocol.StreamCommands.CreateStream("fork", PlainText, null, null, false, []));

        Assert.False(again.Created);
        Assert.Equal(ErrorCode.StreamAlreadyExistsWithDifferentConfig, different.Code);
        Assert.Equal(ErrorCode.StreamAlreadyExistsWithDifferentConfig, plainPut.Code);
    }
}
