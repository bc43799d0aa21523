using Akka.Actor;
using Streams.Actors.Actors;
using Xunit;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// How one stream owner settles its appends: results in submission order whatever order they
/// arrive in, and replies deferred until everything issued before them has settled.
/// </summary>
public sealed class CommitSequencerTests
{
    private readonly CommitSequencer commits = new();

    [Fact]
    public void Should_number_appends_in_submission_order_and_count_them_in_flight()
    {
        Assert.Equal(1, commits.Issue());
        Assert.Equal(2, commits.Issue());
        Assert.Equal(2, commits.InFlight);

        commits.Settle(1);

        Assert.Equal(1, commits.InFlight);
    }

    [Fact]
    public void Should_hold_a_result_that_overtook_an_earlier_one_and_release_both_in_order()
    {
        commits.Issue();
        commits.Issue();
        commits.Issue();

        Assert.Empty(commits.Arrive(2, "second"));
        Assert.Empty(commits.Arrive(3, "third"));
        Assert.Equal(["first", "second", "third"], commits.Arrive(1, "first"));
    }

    [Fact]
    public void Should_release_each_result_at_once_when_they_arrive_in_order()
    {
        commits.Issue();
        commits.Issue();

        Assert.Equal(["first"], commits.Arrive(1, "first"));
        Assert.Equal(["second"], commits.Arrive(2, "second"));
    }

    [Fact]
    public void Should_allow_a_reply_at_once_when_nothing_is_in_flight()
    {
        Assert.True(commits.ReplyNowOrDefer(ActorRefs.Nobody, "described"));

        commits.Issue();
        commits.Settle(1);

        Assert.True(commits.ReplyNowOrDefer(ActorRefs.Nobody, "described again"));
    }

    [Fact]
    public void Should_keep_a_reply_until_every_append_issued_before_it_has_settled()
    {
        commits.Issue();
        commits.Issue();
        Assert.False(commits.ReplyNowOrDefer(ActorRefs.Nobody, "after two"));
        commits.Issue();
        Assert.False(commits.ReplyNowOrDefer(ActorRefs.Nobody, "after three"));

        Assert.Empty(commits.Settle(1));
        Assert.Equal(["after two"], commits.Settle(2).Select(due => due.Reply));
        Assert.Equal(["after three"], commits.Settle(3).Select(due => due.Reply));
    }

    [Fact]
    public void Should_release_every_earlier_deferred_reply_when_a_later_commit_settles_first()
    {
        commits.Issue();
        Assert.False(commits.ReplyNowOrDefer(ActorRefs.Nobody, "after one"));
        commits.Issue();
        Assert.False(commits.ReplyNowOrDefer(ActorRefs.Nobody, "after two"));

        // The writer commits in order, so commit 2 proves commit 1 too.
        Assert.Equal(["after one", "after two"], commits.Settle(2).Select(due => due.Reply));
    }
}
