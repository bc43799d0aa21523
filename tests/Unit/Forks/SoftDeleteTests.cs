using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.Storage;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Forks;

public sealed class SoftDeleteTests(ITestOutputHelper output) : ForkActorTestKit(output)
{
    private static readonly TimeSpan CascadeDeadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Should_soft_delete_a_source_that_a_fork_still_reads()
    {
        await CreateAsync("source", PlainText, null, "kept");
        await ForkAsync(Fork("fork", "source"));

        await AskAsync<StreamDeleted>(new DeleteStream("source"));

        Assert.Equal(ErrorCode.StreamGone, (await RejectedAsync(new DescribeStream("source"))).Code);
        Assert.Equal(ErrorCode.StreamGone, (await RejectedAsync(new ReadStream("source", ReadStart.Beginning, null, Unlimited))).Code);
        Assert.Equal(ErrorCode.StreamGone, (await RejectedAsync(new DeleteStream("source"))).Code);
        Assert.Equal(ErrorCode.StreamGone, (await RejectedAsync(new AppendToStream("source", PlainText, [[1]], false, null, null))).Code);
        Assert.Equal(ErrorCode.StreamSoftDeleted, (await RejectedAsync(new CreateStream("source", PlainText, null, null, false, []))).Code);
        Assert.Equal(ErrorCode.StreamSoftDeleted, (await RejectedAsync(Fork("another", "source"))).Code);
        Assert.Equal(["kept"], await TextsAsync("fork"));
        Assert.True(Engine.Database.LoadStream("source")!.SoftDeleted);
    }

    [Fact]
    public async Task Should_remove_a_source_with_no_forks_left()
    {
        await CreateAsync("source", PlainText, null, "alive");
        await ForkAsync(Fork("f1", "source"));
        await ForkAsync(Fork("f2", "source"));

        await AskAsync<StreamDeleted>(new DeleteStream("f1"));
        await AskAsync<StreamDeleted>(new DeleteStream("f2"));
        Assert.Equal(["alive"], await TextsAsync("source"));
        await AskAsync<StreamDeleted>(new DeleteStream("source"));

        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("source"))).Code);
        Assert.Null(Engine.Database.LoadStream("source"));
    }

    [Fact]
    public async Task Should_remove_soft_deleted_ancestors_when_the_last_fork_of_the_chain_is_deleted()
    {
        await CreateAsync("l0", PlainText, null, "root");
        await ForkAsync(Fork("l1", "l0"));
        await ForkAsync(Fork("l2", "l1"));
        await AskAsync<StreamDeleted>(new DeleteStream("l0"));
        await AskAsync<StreamDeleted>(new DeleteStream("l1"));

        await AskAsync<StreamDeleted>(new DeleteStream("l2"));

        await AwaitAssertAsync(
            async () =>
            {
                Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("l1"))).Code);
                Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("l0"))).Code);
            },
            CascadeDeadline);
        Assert.Null(Engine.Database.LoadStream("l0"));
        Assert.Null(Engine.Database.LoadStream("l1"));
    }

    [Fact]
    public async Task Should_keep_reading_through_a_soft_deleted_middle_of_a_chain()
    {
        await CreateAsync("l0", PlainText, null, "A");
        await ForkAsync(Fork("l1", "l0"));
        await AppendAsync("l1", PlainText, "B");
        await ForkAsync(Fork("l2", "l1"));
        await AppendAsync("l2", PlainText, "C");

        await AskAsync<StreamDeleted>(new DeleteStream("l1"));

        Assert.Equal(ErrorCode.StreamGone, (await RejectedAsync(new DescribeStream("l1"))).Code);
        Assert.Equal(["A", "B", "C"], await TextsAsync("l2"));
        Assert.Equal(["A"], await TextsAsync("l0"));
    }

    [Fact]
    public async Task Should_not_reference_the_source_when_a_fork_is_rejected_for_its_content_type()
    {
        await CreateAsync("source", PlainText, null, "data");

        var rejected = await RejectedAsync(Fork("fork", "source", contentType: "application/json"));
        await AskAsync<StreamDeleted>(new DeleteStream("source"));

        Assert.Equal(ErrorCode.ContentTypeMismatch, rejected.Code);
        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("source"))).Code);
    }

    [Fact]
    public async Task Should_soft_delete_an_expired_source_with_forks_and_remove_it_when_the_fork_expires()
    {
        await CreateAsync("source", PlainText, 1, "data");
        await ForkAsync(Fork("fork", "source"));

        Engine.Clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(ErrorCode.StreamGone, (await RejectedAsync(new DescribeStream("source"))).Code);
        Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("fork"))).Code);
        await AwaitAssertAsync(
            async () => Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("source"))).Code),
            CascadeDeadline);
    }

    [Fact]
    public async Task Should_remove_a_soft_deleted_stream_on_load_when_its_last_fork_went_without_telling_it()
    {
        await CreateAsync("source", PlainText, null, "data");
        var fork = await ForkAsync(Fork("fork", "source"));
        await AskAsync<StreamDeleted>(new DeleteStream("source"));
        // The fork disappears behind the owners' backs, as if the release message was lost in a crash.
        await Engine.Writer.Submit(new RemoveUnlessForkedOperation(fork.Incarnation));

        var freshOwners = Sys.ActorOf(StreamSupervisorActor.Props(Engine.Dependencies), "fresh-streams");
        var reply = await freshOwners.Ask<object>(new DescribeStream("source"), TimeSpan.FromSeconds(10));

        Assert.Equal(ErrorCode.StreamNotFound, Assert.IsType<StreamRejected>(reply).Code);
        Assert.Null(Engine.Database.LoadStream("source"));
    }

    [Fact]
    public async Task Should_recreate_a_removed_source_path_as_a_fresh_stream()
    {
        await CreateAsync("source", PlainText, null, "old");
        await ForkAsync(Fork("fork", "source"));
        await AskAsync<StreamDeleted>(new DeleteStream("source"));
        await AskAsync<StreamDeleted>(new DeleteStream("fork"));
        await AwaitAssertAsync(
            async () => Assert.Equal(ErrorCode.StreamNotFound, (await RejectedAsync(new DescribeStream("source"))).Code),
            CascadeDeadline);

        await CreateAsync("source", PlainText, null, "new");

        Assert.Equal(["new"], await TextsAsync("source"));
    }
}
