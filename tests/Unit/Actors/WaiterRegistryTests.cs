using Akka.Actor;
using Streams.Actors.Actors;
using Xunit;

namespace Streams.Tests.Unit.Actors;

/// <summary>The parked live readers of one stream: who is woken by a commit, a close, a timeout or a delete.</summary>
public sealed class WaiterRegistryTests
{
    private const long MaxBytes = 1024;
    private readonly WaiterRegistry registry = new();

    [Fact]
    public void Should_wake_only_the_readers_whose_start_is_now_committed_in_the_order_they_were_parked()
    {
        var atThree = registry.Park(ActorRefs.Nobody, startPosition: 3, MaxBytes);
        var atFive = registry.Park(ActorRefs.Nobody, startPosition: 5, MaxBytes);
        var alsoAtThree = registry.Park(ActorRefs.Nobody, startPosition: 3, MaxBytes);

        var woken = registry.TakeReadable(committedPosition: 4, closed: false);

        Assert.Equal([atThree, alsoAtThree], woken);
        Assert.Equal(1, registry.Count);
        Assert.Empty(registry.TakeReadable(committedPosition: 5, closed: false));
        Assert.Equal([atFive], registry.TakeReadable(committedPosition: 6, closed: false));
    }

    [Fact]
    public void Should_wake_every_reader_when_the_stream_is_closed_whatever_its_start()
    {
        registry.Park(ActorRefs.Nobody, startPosition: 10, MaxBytes);
        registry.Park(ActorRefs.Nobody, startPosition: 20, MaxBytes);

        Assert.Equal(2, registry.TakeReadable(committedPosition: 10, closed: true).Count);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void Should_give_each_waiter_its_own_id_and_timer_key()
    {
        var first = registry.Park(ActorRefs.Nobody, 0, MaxBytes);
        var second = registry.Park(ActorRefs.Nobody, 0, MaxBytes);

        Assert.NotEqual(first.Id, second.Id);
        Assert.NotEqual(first.TimerKey, second.TimerKey);
    }

    [Fact]
    public void Should_take_a_timed_out_reader_once_and_ignore_the_timeout_of_a_reader_already_woken()
    {
        var timesOut = registry.Park(ActorRefs.Nobody, startPosition: 7, MaxBytes);
        var woken = registry.Park(ActorRefs.Nobody, startPosition: 0, MaxBytes);
        registry.TakeReadable(committedPosition: 1, closed: false);

        Assert.Null(registry.TakeTimedOut(woken.Id));
        Assert.Equal(timesOut, registry.TakeTimedOut(timesOut.Id));
        Assert.Null(registry.TakeTimedOut(timesOut.Id));
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void Should_hand_over_and_forget_every_reader_when_all_are_taken()
    {
        registry.Park(ActorRefs.Nobody, 1, MaxBytes);
        registry.Park(ActorRefs.Nobody, 2, MaxBytes);

        Assert.Equal(2, registry.TakeAll().Count);
        Assert.Empty(registry.TakeAll());
        Assert.Equal(0, registry.Count);
    }
}
