namespace Streams.Tests.Property.Restore;

/// <summary>
/// Counts, over every case of a property run, the outcomes a schedule step cannot force but the
/// property must reach: compactions that merged, producer retries answered as duplicates, producer
/// and Stream-Seq rejections, and producer state judged after a restart or restore. Checked after
/// the run, so an operation that silently became a no-op fails the test.
/// </summary>
internal static class Coverage
{
    private static long cases;
    private static long steps;
    private static long segmentsMerged;
    private static long producerDuplicates;
    private static long producerRejections;
    private static long streamSeqRejections;
    private static long producerStatesCarriedOver;

    public static long SegmentsMerged => Interlocked.Read(ref segmentsMerged);

    public static long ProducerDuplicates => Interlocked.Read(ref producerDuplicates);

    public static long ProducerRejections => Interlocked.Read(ref producerRejections);

    public static long StreamSeqRejections => Interlocked.Read(ref streamSeqRejections);

    public static long ProducerStatesCarriedOver => Interlocked.Read(ref producerStatesCarriedOver);

    public static void CaseRun(int stepCount)
    {
        Interlocked.Increment(ref cases);
        Interlocked.Add(ref steps, stepCount);
    }

    public static void Compacted(int segmentsRemoved) => Interlocked.Add(ref segmentsMerged, segmentsRemoved);

    public static void ProducerDuplicate() => Interlocked.Increment(ref producerDuplicates);

    public static void ProducerRejected() => Interlocked.Increment(ref producerRejections);

    public static void StreamSeqRejected() => Interlocked.Increment(ref streamSeqRejections);

    public static void ProducerStateCarriedOver() => Interlocked.Increment(ref producerStatesCarriedOver);

    public static void Reset()
    {
        Interlocked.Exchange(ref cases, 0);
        Interlocked.Exchange(ref steps, 0);
        Interlocked.Exchange(ref segmentsMerged, 0);
        Interlocked.Exchange(ref producerDuplicates, 0);
        Interlocked.Exchange(ref producerRejections, 0);
        Interlocked.Exchange(ref streamSeqRejections, 0);
        Interlocked.Exchange(ref producerStatesCarriedOver, 0);
    }

    public static string Summary() =>
        $"{Interlocked.Read(ref cases)} cases of {Interlocked.Read(ref steps)} steps in all: {SegmentsMerged} segments merged away by compaction, {ProducerDuplicates} producer duplicates, " +
        $"{ProducerRejections} producer rejections, {StreamSeqRejections} Stream-Seq rejections, " +
        $"{ProducerStatesCarriedOver} producer states judged after a restart or restore";
}
