using Akka.Actor;
using Streams.Actors.Domain;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Forks;

public sealed class ForkReadTests(ITestOutputHelper output) : ForkActorTestKit(output)
{
    [Fact]
    public async Task Should_read_source_records_below_the_fork_position_and_own_records_above_it()
    {
        await CreateAsync("source", PlainText, null, "a");
        await AppendAsync("source", PlainText, "b");
        await AppendAsync("source", PlainText, "c");

        var fork = await ForkAsync(Fork("fork", "source", at: At(2)));
        await AppendAsync("fork", PlainText, "x");

        Assert.Equal(At(2), fork.Tail);
        Assert.Equal(["a", "b", "x"], await TextsAsync("fork"));
        Assert.Equal(["b", "x"], await TextsAsync("fork", ReadStart.At(At(1))));
        Assert.Equal(["x"], await TextsAsync("fork", ReadStart.At(At(2))));
        Assert.Equal(["a", "b", "c"], await TextsAsync("source"));
    }

    [Fact]
    public async Task Should_not_show_source_appends_made_after_the_fork()
    {
        await CreateAsync("source", PlainText, null, "before");
        await ForkAsync(Fork("fork", "source"));
        await AppendAsync("source", PlainText, "after");

        var read = await ReadAsync("fork");

        Assert.Equal(["before"], Texts(read));
        Assert.True(read.UpToDate);
        Assert.Equal(At(1), read.Next);
    }

    [Fact]
    public async Task Should_stop_at_the_byte_budget_when_a_read_crosses_the_fork_boundary()
    {
        await CreateAsync("source", PlainText, null, "a");
        await AppendAsync("source", PlainText, "b");
        await ForkAsync(Fork("fork", "source"));
        await AppendAsync("fork", PlainText, "x");
        await AppendAsync("fork", PlainText, "y");

        var first = await ReadAsync("fork", ReadStart.At(At(1)), maxBytes: 2);
        var rest = await ReadAsync("fork", ReadStart.At(first.Next), maxBytes: 2);

        Assert.Equal(["b", "x"], Texts(first));
        Assert.False(first.UpToDate);
        Assert.Equal(["y"], Texts(rest));
        Assert.True(rest.UpToDate);
    }

    [Fact]
    public async Task Should_read_through_three_levels_of_forks()
    {
        await CreateAsync("l0", PlainText, null, "A");
        await ForkAsync(Fork("l1", "l0"));
        await AppendAsync("l1", PlainText, "B");
        await ForkAsync(Fork("l2", "l1"));
        await AppendAsync("l2", PlainText, "C");
        await AppendAsync("l0", PlainText, "0");
        await AppendAsync("l1", PlainText, "1");

        Assert.Equal(["A", "0"], await TextsAsync("l0"));
        Assert.Equal(["A", "B", "1"], await TextsAsync("l1"));
        Assert.Equal(["A", "B", "C"], await TextsAsync("l2"));
    }

    [Fact]
    public async Task Should_answer_a_long_poll_in_the_inherited_range_at_once()
    {
        await CreateAsync("source", PlainText, null, "inherited");
        await ForkAsync(Fork("fork", "source"));

        var read = await AskAsync<ReadCompleted>(new ReadStream("fork", ReadStart.Beginning, TimeSpan.FromSeconds(30), Unlimited));

        Assert.Equal(["inherited"], Texts(read));
        Assert.False(read.TimedOut);
    }

    [Fact]
    public async Task Should_wake_a_long_poll_at_the_fork_tail_only_for_the_forks_own_appends()
    {
        await CreateAsync("source", PlainText, null, "source");
        var fork = await ForkAsync(Fork("fork", "source"));
        var reader = CreateTestProbe();
        Streams.Tell(new ReadStream("fork", ReadStart.At(fork.Tail), TimeSpan.FromSeconds(30), Unlimited), reader);

        await AppendAsync("source", PlainText, "source extra");
        // The fork's owner handles its mailbox in order: the read, then anything the source's append
        // made the source send it (sent before the source acknowledged), then this query. A reader
        // woken by the source's append would be answered and gone from the count.
        var details = await AskAsync<StreamDetailsReported>(new GetStreamDetails("fork"));
        Assert.Equal(1, details.LiveReaders);
        await AppendAsync("fork", PlainText, "fork new");

        var read = await reader.ExpectMsgAsync<ReadCompleted>();
        Assert.Equal(["fork new"], Texts(read));
    }

    [Fact]
    public async Task Should_give_a_fork_the_source_content_type_and_ttl_when_it_names_none()
    {
        await CreateAsync("source", Json, 3600, "{\"a\":1}");

        var fork = await ForkAsync(Fork("fork", "source"));
        var own = await ForkAsync(Fork("own-ttl", "source", ttlSeconds: 7200));

        Assert.Equal(Json, fork.ContentType);
        Assert.Equal(3600, fork.TtlSeconds);
        Assert.Equal(7200, own.TtlSeconds);
    }

    [Fact]
    public async Task Should_not_carry_producer_state_into_a_fork()
    {
        await CreateAsync("source");
        var producer = new ProducerClaim("p", 0, 0);
        await AskAsync<Appended>(new AppendToStream("source", PlainText, [[1]], false, "seq-9", producer));
        await ForkAsync(Fork("fork", "source"));

        var appended = await AskAsync<Appended>(new AppendToStream("fork", PlainText, [[2]], false, "seq-1", producer));

        Assert.False(appended.Duplicate);
        Assert.Equal(At(2), appended.NextOffset);
    }
}
