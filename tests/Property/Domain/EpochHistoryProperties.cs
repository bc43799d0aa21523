using FsCheck.Xunit;
using Xunit;

namespace Streams.Tests.Property.Domain;

/// <summary>Offsets named through the epoch history never go backwards as positions advance.</summary>
[Properties(Arbitrary = [typeof(EngineGenerators)], MaxTest = 1000)]
public sealed class EpochHistoryProperties
{
    [Property]
    public void Offset_at_a_later_position_is_never_smaller(EpochTimeline timeline)
    {
        var history = timeline.History();

        var earlier = history.OffsetAt(timeline.Earlier);
        var later = history.OffsetAt(timeline.Later);

        Assert.True(earlier.CompareTo(later) <= 0, $"{earlier} > {later}");
        Assert.True(string.CompareOrdinal(earlier.ToString(), later.ToString()) <= 0);
    }

    [Property]
    public void Offset_at_a_position_carries_that_position(EpochTimeline timeline)
    {
        Assert.Equal(timeline.Later, timeline.History().OffsetAt(timeline.Later).Position);
    }

    [Property]
    public void Resolving_an_offset_the_history_named_gives_back_its_position(EpochTimeline timeline)
    {
        var history = timeline.History();

        Assert.True(history.TryResolve(history.OffsetAt(timeline.Later), out var position, out _));
        Assert.Equal(timeline.Later, position);
    }
}
