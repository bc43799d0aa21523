using Streams.Actors.Storage;
using Xunit;

namespace Streams.Tests.Unit.Storage;

/// <summary>
/// The merge policy alone, on simulated segment lists: whatever the append pattern, the number of
/// segments stays O(bytes / target) + a small constant, a record is rewritten O(log) times, and a
/// quiet stream's small tail ends as one segment.
/// </summary>
public sealed class CompactionPolicyTests
{
    private const int TargetRows = 10_000;
    private const long TargetBytes = 8 << 20;
    private const long RecordBytes = 150;
    private static readonly CompactionPolicy Policy = new(TargetRows, TargetBytes, FanIn: 4);

    [Fact]
    public void Should_keep_the_segment_count_bounded_by_a_small_constant_when_every_record_is_sealed_on_its_own()
    {
        var stream = new SimulatedStream();
        var most = 0;
        for (var seal = 0; seal < 20_000; seal++)
        {
            stream.Seal(records: 1);
            stream.CompactUntilStable(quiet: false);
            most = Math.Max(most, stream.Segments.Count);
        }

        // Fan-in 4 over weights from 1e-4 to 0.5: about log4(5000) ≈ 6 levels of at most 3-4 segments.
        Assert.True(most <= 30, $"the stream reached {most} segments");
        Assert.True(stream.MaxRewrites <= 8, $"a record was rewritten {stream.MaxRewrites} times");

        stream.CompactUntilStable(quiet: true);
        // 20,000 records fill at most four segments of half the target or more, plus the merged tail.
        Assert.True(stream.Segments.Count <= 5, $"{stream.Segments.Count} segments once quiet");
        Assert.Equal(20_000, stream.Segments.Sum(segment => segment.RecordCount));
    }

    [Fact]
    public void Should_merge_the_whole_small_tail_into_one_segment_when_the_stream_is_quiet()
    {
        var stream = new SimulatedStream();
        for (var seal = 0; seal < 240; seal++)
        {
            stream.Seal(records: 1);
            stream.CompactUntilStable(quiet: false);
        }

        stream.CompactUntilStable(quiet: true);

        Assert.Single(stream.Segments);
        Assert.Equal(240, stream.Segments[0].RecordCount);
    }

    [Fact]
    public void Should_bound_the_small_segments_by_the_full_ones_when_bursts_alternate_with_time_based_seals()
    {
        var stream = new SimulatedStream();
        for (var burst = 0; burst < 200; burst++)
        {
            stream.Seal(records: TargetRows);
            for (var trickle = 0; trickle < 50; trickle++)
            {
                stream.Seal(records: 1 + (trickle % 7));
                stream.CompactUntilStable(quiet: false);
            }
        }

        var full = stream.Segments.Count(segment => !Policy.IsSmall(segment));
        var small = stream.Segments.Count - full;
        Assert.Equal(200, full);
        // One run of small segments between two full ones, each run bounded by the constant.
        Assert.True(small <= full * 30, $"{small} small segments beside {full} full ones");
        stream.CompactUntilStable(quiet: true);
        Assert.True(stream.Segments.Count <= 2 * full, $"{stream.Segments.Count} segments once quiet, {full} of them full");
    }

    [Fact]
    public void Should_never_plan_a_group_beyond_the_target_or_with_a_segment_not_yet_uploaded()
    {
        var segments = new List<SegmentRow>();
        long position = 0;
        for (var i = 0; i < 12; i++)
        {
            segments.Add(Segment(i, position, TargetRows / 3, TargetBytes / 3, uploaded: i < 10));
            position += TargetRows / 3;
        }

        var groups = Policy.Plan(segments, quiet: true);

        Assert.NotEmpty(groups);
        Assert.All(groups, group => Assert.True(group.Sum(segment => segment.RecordCount) <= TargetRows && group.Sum(segment => segment.ByteSize) <= TargetBytes));
        Assert.All(groups.SelectMany(group => group), segment => Assert.True(segment.Uploaded));
        Assert.All(groups, group => Assert.True(group.Count >= 2));
    }

    private static SegmentRow Segment(long index, long first, long records, long bytes, bool uploaded = true) =>
        new(1, index, first, records, bytes, "c", uploaded, [], null, $"{first:D16}-{index:x16}.seg");

    /// <summary>A stream's segment list, sealed and compacted the way the engine does, counting rewrites.</summary>
    private sealed class SimulatedStream
    {
        private long nextIndex;
        private long nextPosition;
        private readonly Dictionary<long, int> rewritesByFirstPosition = [];

        public List<SegmentRow> Segments { get; } = [];

        /// <summary>Most times any record was rewritten (tracked per segment: its records share a count).</summary>
        public int MaxRewrites { get; private set; }

        public void Seal(long records)
        {
            Segments.Add(Segment(nextIndex++, nextPosition, records, Math.Min(records * RecordBytes, TargetBytes)));
            rewritesByFirstPosition[nextPosition] = 0;
            nextPosition += records;
        }

        public void CompactUntilStable(bool quiet)
        {
            while (Policy.Plan(Segments, quiet) is { Count: > 0 } groups)
            {
                foreach (var group in groups)
                {
                    var at = Segments.IndexOf(group[0]);
                    var rewrites = group.Max(segment => rewritesByFirstPosition[segment.FirstPosition]) + 1;
                    foreach (var segment in group)
                    {
                        rewritesByFirstPosition.Remove(segment.FirstPosition);
                    }

                    Segments.RemoveRange(at, group.Count);
                    var merged = Segment(group[0].Index, group[0].FirstPosition, group.Sum(s => s.RecordCount), group.Sum(s => s.ByteSize));
                    Segments.Insert(at, merged);
                    rewritesByFirstPosition[merged.FirstPosition] = rewrites;
                    MaxRewrites = Math.Max(MaxRewrites, rewrites);
                }
            }
        }
    }
}
