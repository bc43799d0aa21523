using Streams.Actors.Hosting;
using Xunit;

namespace Streams.Tests.Unit.Hosting;

public sealed class HeapCompactionPolicyTests
{
    [Fact]
    public void Should_compact_once_a_sweep_past_the_threshold_is_over()
    {
        var policy = new HeapCompactionPolicy(threshold: 100);

        Assert.False(policy.ShouldCompact(60));   // sweep in progress
        Assert.False(policy.ShouldCompact(150));  // past the threshold, still stopping owners
        Assert.True(policy.ShouldCompact(150));   // nothing stopped for a whole interval
        Assert.False(policy.ShouldCompact(150));  // already compacted for these
    }

    [Fact]
    public void Should_not_compact_when_fewer_owners_than_the_threshold_stopped_since_the_last_compaction()
    {
        var policy = new HeapCompactionPolicy(threshold: 100);
        Assert.False(policy.ShouldCompact(120));
        Assert.True(policy.ShouldCompact(120));

        Assert.False(policy.ShouldCompact(180));
        Assert.False(policy.ShouldCompact(180)); // only 60 since the last compaction
        Assert.False(policy.ShouldCompact(230));
        Assert.True(policy.ShouldCompact(230));  // 110 since the last compaction, sweep over
    }

    [Fact]
    public void Should_never_compact_when_the_threshold_is_zero()
    {
        var policy = new HeapCompactionPolicy(threshold: 0);
        Assert.False(policy.ShouldCompact(1_000_000));
        Assert.False(policy.ShouldCompact(1_000_000));
    }
}
