namespace Streams.Actors.Storage;

/// <summary>
/// Which adjacent segments of a stream to merge (see docs/adr/0007-compaction-and-safe-deletion.md).
/// <para>
/// A segment is <em>small</em> when it is uploaded and below half of the target in both rows and
/// bytes (its object size). Merging happens only inside a run of adjacent small segments, so a run
/// is bounded by the segments around it, and each output holds at most the target.
/// </para>
/// <para>
/// Within a run (oldest first, weights w = the larger of rows/target-rows and bytes/target-bytes),
/// the merge starts at the oldest segment i whose newer neighbours weigh at least
/// <c>(fan-in - 1) * w_i</c>, and takes everything from i to the end of the run. After a merge each
/// small segment outweighs the newer ones of its run by more than that factor, so a run holds
/// O(fan-in × log(target / smallest segment)) segments, and a record is rewritten only when the
/// segment holding it grows by at least the fan-in: O(log) rewrites, never O(n). When the stream has
/// been quiet (nothing sealed for a while), the whole run is merged: a stream that stops ends with
/// its small tail in as few segments as the target allows.
/// </para>
/// </summary>
public sealed record CompactionPolicy(int TargetRows, long TargetBytes, int FanIn)
{
    /// <summary>
    /// The groups to merge (each two or more adjacent segments, together within the target, in
    /// position order), or none. At most one run is planned per call; a later call takes the next.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<SegmentRow>> Plan(IReadOnlyList<SegmentRow> segments, bool quiet)
    {
        var start = 0;
        while (start < segments.Count)
        {
            if (!IsSmall(segments[start]))
            {
                start++;
                continue;
            }

            var end = start;
            while (end + 1 < segments.Count && IsSmall(segments[end + 1]) && segments[end + 1].FirstPosition == segments[end].EndPosition)
            {
                end++;
            }

            var run = segments.Skip(start).Take(end - start + 1).ToList();
            var groups = Pack(WindowOf(run, quiet));
            if (groups.Count > 0)
            {
                return groups;
            }

            start = end + 1;
        }

        return [];
    }

    public bool IsSmall(SegmentRow segment) =>
        segment.Uploaded && segment.RecordCount * 2 < TargetRows && segment.ByteSize * 2 < TargetBytes;

    private double Weight(SegmentRow segment) =>
        Math.Max(segment.RecordCount / (double)TargetRows, segment.ByteSize / (double)TargetBytes);

    /// <summary>The part of the run to merge: from the first segment its newer neighbours outweigh.</summary>
    private List<SegmentRow> WindowOf(List<SegmentRow> run, bool quiet)
    {
        if (run.Count < 2)
        {
            return [];
        }

        if (quiet)
        {
            return run;
        }

        var newer = new double[run.Count];
        for (var i = run.Count - 2; i >= 0; i--)
        {
            newer[i] = newer[i + 1] + Weight(run[i + 1]);
        }

        for (var i = 0; i < run.Count - 1; i++)
        {
            if (newer[i] >= (FanIn - 1) * Weight(run[i]))
            {
                return run.GetRange(i, run.Count - i);
            }
        }

        return [];
    }

    /// <summary>
    /// Cuts the window into groups that each stay within the target; a group of one is left alone.
    /// Every segment is below half the target, so each group but the last holds at least two.
    /// </summary>
    private List<IReadOnlyList<SegmentRow>> Pack(List<SegmentRow> window)
    {
        var groups = new List<IReadOnlyList<SegmentRow>>();
        var current = new List<SegmentRow>();
        long rows = 0;
        long bytes = 0;
        foreach (var segment in window)
        {
            if (current.Count > 0 && (rows + segment.RecordCount > TargetRows || bytes + segment.ByteSize > TargetBytes))
            {
                groups.Add(current);
                current = [];
                rows = 0;
                bytes = 0;
            }

            current.Add(segment);
            rows += segment.RecordCount;
            bytes += segment.ByteSize;
        }

        groups.Add(current);
        return groups.Where(group => group.Count >= 2).ToList();
    }
}
