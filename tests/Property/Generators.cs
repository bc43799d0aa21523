using FsCheck;
using FsCheck.Fluent;
using Streams.Actors.Restore;
using Streams.Actors.Storage.Segments;
using Streams.Tests.Property.Pipeline;
using Streams.Tests.Property.Restore;
using Streams.Tests.Property.Segments;
using Streams.Tests.Support;

namespace Streams.Tests.Property;

/// <summary>
/// Every generator the property tests use. Register with
/// <c>[Properties(Arbitrary = [typeof(Generators)])]</c>: each public static method returning an
/// <see cref="Arbitrary{T}"/> becomes the default for its type. Generic building blocks come
/// first; add a section per domain below them.
/// </summary>
public static class Generators
{
    // ---- Generic building blocks --------------------------------------------------------------

    /// <summary>Any <see cref="long"/>, from two independent 32-bit halves.</summary>
    public static Gen<long> AnyLong() =>
        Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue))
            .Select(halves => ((long)halves.Item1 << 32) | (uint)halves.Item2);

    /// <summary>Non-negative longs, biased towards 0, small values and the top of the range.</summary>
    public static Gen<long> NonNegativeLong() =>
        Gen.Frequency(
            (1, Gen.Constant(0L)),
            (4, Gen.Choose(0, 10_000).Select(i => (long)i)),
            (2, AnyLong().Select(l => l & long.MaxValue)),
            (1, Gen.Choose(0, 1_000).Select(i => long.MaxValue - i)));

    /// <summary>
    /// Byte arrays up to <paramref name="maxLength"/>, mostly short. Contents are random, a single
    /// repeated byte, or a short repeating pattern, so both incompressible and compressible data
    /// occur. The bytes derive from a generated seed, which keeps generation fast for large arrays.
    /// </summary>
    public static Gen<byte[]> Bytes(int maxLength) =>
        from length in Gen.Frequency(
            (4, Gen.Choose(0, Math.Min(16, maxLength))),
            (3, Gen.Choose(0, Math.Min(512, maxLength))),
            (1, Gen.Choose(0, maxLength)))
        from seed in Gen.Choose(int.MinValue, int.MaxValue)
        from kind in Gen.Elements(ByteContent.Random, ByteContent.Repeated, ByteContent.Pattern)
        select MakeBytes(length, seed, kind);

    private enum ByteContent
    {
        Random,
        Repeated,
        Pattern,
    }

    private static byte[] MakeBytes(int length, int seed, ByteContent kind)
    {
        const int patternLength = 7;
        var bytes = new byte[length];
        var random = new Random(seed);
        switch (kind)
        {
            case ByteContent.Random:
                random.NextBytes(bytes);
                break;
            case ByteContent.Repeated:
                Array.Fill(bytes, (byte)random.Next(byte.MaxValue + 1));
                break;
            case ByteContent.Pattern:
                var pattern = new byte[patternLength];
                random.NextBytes(pattern);
                for (var i = 0; i < length; i++)
                {
                    bytes[i] = pattern[i % patternLength];
                }

                break;
        }

        return bytes;
    }

    // ---- Segments ------------------------------------------------------------------------------

    /// <summary>Payloads up to about 10 KiB, so some records exceed small block targets.</summary>
    public const int MaxSegmentPayloadBytes = 10 * 1024;

    private const int MaxSegmentRecords = 60;
    private const long TimestampBaseMs = 1_700_000_000_000;

    public static Arbitrary<SegmentCase> SegmentCases() => Arb.From(SegmentCaseGen(), ShrinkSegmentCase);

    private static Gen<SegmentCase> SegmentCaseGen() =>
        from count in Gen.Sized(size => Gen.Choose(1, Math.Clamp(size, 1, MaxSegmentRecords)))
        from records in Gen.ListOf(GeneratedRecordGen(), count)
        from first in NonNegativeLong()
        from target in Gen.Frequency(
            (3, Gen.Choose(1, 256)),
            (3, Gen.Choose(257, 16 * 1024)),
            (1, Gen.Constant(SegmentWriterOptions.DefaultTargetBlockBytes)))
        select new SegmentCase(Math.Min(first, long.MaxValue - count), target, records);

    private static Gen<GeneratedRecord> GeneratedRecordGen() =>
        from timestamp in Gen.Frequency(
            (3, Gen.Choose(0, 1_000_000).Select(offset => TimestampBaseMs + offset)),
            (1, AnyLong()))
        from payload in Bytes(MaxSegmentPayloadBytes)
        select new GeneratedRecord(timestamp, payload);

    /// <summary>
    /// Smaller cases first: fewer records, then shorter payloads, then simpler positions and block
    /// sizes, so a failure reports a case small enough to read.
    /// </summary>
    private static IEnumerable<SegmentCase> ShrinkSegmentCase(SegmentCase value)
    {
        var records = value.Records;
        if (records.Count > 1)
        {
            var half = records.Count / 2;
            yield return value with { Records = records.Take(half).ToList() };
            yield return value with { Records = records.Skip(half).ToList() };
            for (var i = 0; i < records.Count; i++)
            {
                yield return value with { Records = records.Where((_, j) => j != i).ToList() };
            }
        }

        for (var i = 0; i < records.Count; i++)
        {
            var payload = records[i].Payload;
            if (payload.Length > 0)
            {
                yield return value with { Records = Replace(records, i, records[i] with { Payload = payload[..(payload.Length / 2)] }) };
            }
        }

        if (value.FirstPosition != 0)
        {
            yield return value with { FirstPosition = 0 };
        }

        if (value.TargetBlockBytes != SegmentWriterOptions.DefaultTargetBlockBytes)
        {
            yield return value with { TargetBlockBytes = SegmentWriterOptions.DefaultTargetBlockBytes };
        }
    }

    // ---- Restore schedules -----------------------------------------------------------------------

    /// <summary>Longest schedule generated; the size parameter grows the length up to this.</summary>
    public const int MaxScheduleSteps = 40;

    private const int MaxRecordBytes = 40;
    private const int LargeRecordBytes = 300;
    private const int MaxRecordsPerAppend = 3;

    public static Arbitrary<Schedule> Schedules() => Arb.From(ScheduleGen(), ShrinkSchedule);

    private static Gen<Schedule> ScheduleGen() =>
        from length in Gen.Sized(size => Gen.Choose(Math.Clamp(size / 2, 1, MaxScheduleSteps), Math.Clamp(size, 1, MaxScheduleSteps)))
        from firstMode in Gen.Elements(RestoreMode.None, RestoreMode.Eager, RestoreMode.Lazy)
        from opening in OpeningCreates()
        from chunks in Gen.ListOf(Gen.Frequency((12, ScheduleOpGen().Select(op => (IReadOnlyList<ScheduleOp>)[op])), (1, CompactionBurst()), (1, ProducerAcrossRestart()), (1, StreamSeqRepeated())), length)
        let ops = chunks.SelectMany(chunk => chunk).Take(length).ToList()
        from tuning in EngineTuningGen()
        from nameKinds in Gen.ArrayOf(NameKind(), Schedule.StreamCount)
        select new Schedule(firstMode, [.. opening, .. ops], tuning, [.. nameKinds.Select((kind, stream) => StreamNames.Name(stream, kind))]);

    /// <summary>
    /// Most schedules begin by creating some streams, so that the steps after them mostly meet live
    /// streams (ordinary steps, which shrinking drops like any other).
    /// </summary>
    private static Gen<List<ScheduleOp>> OpeningCreates() =>
        from streams in Gen.SubListOf(Enumerable.Range(0, Schedule.StreamCount).ToArray())
        from json in Gen.ArrayOf(Gen.Elements(false, true), Schedule.StreamCount)
        select streams.Select(stream => (ScheduleOp)new CreateOp(stream, json[stream], InitialRecords: 0)).ToList();

    /// <summary>Mostly names with characters outside the Basic Multilingual Plane.</summary>
    private static Gen<StreamNameKind> NameKind() =>
        Gen.Frequency(
            (1, Gen.Constant(StreamNameKind.Ascii)),
            (1, Gen.Constant(StreamNameKind.Emoji)),
            (1, Gen.Constant(StreamNameKind.CjkExtensionB)),
            (1, Gen.Constant(StreamNameKind.Mixed)));

    /// <summary>
    /// Page budgets from one byte (one record a page) to several records; segments of two, three or
    /// six rows (several per seal; with three or six, segments of one or two rows are small enough
    /// for compaction to merge) or the default (every segment small); blocks smaller than one record, of a few records, or
    /// the default; no segment cache (every published segment is read from the object store) or one
    /// megabyte.
    /// </summary>
    private static Gen<EngineTuning> EngineTuningGen() =>
        from maxReadBytes in Gen.Elements(1L, 16L, 64L, 256L)
        from targetRows in Gen.Elements(3, 6, 8, 10_000)
        from blockBytes in Gen.Elements(24, 128, 65_536)
        from cacheBytes in Gen.Elements(0L, 1L << 20)
        select new EngineTuning(maxReadBytes, targetRows, blockBytes, cacheBytes);

    /// <summary>Skewed towards the first stream, so one stream sees long histories while the others still interleave.</summary>
    private static Gen<int> StreamIndex() => Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Constant(1)), (1, Gen.Constant(2)));

    private static Gen<int> RecordSize() =>
        Gen.Frequency(
            (8, Gen.Choose(1, MaxRecordBytes)),
            (1, Gen.Choose(MaxRecordBytes, LargeRecordBytes)));

    private static Gen<ScheduleOp> ScheduleOpGen() =>
        Gen.Frequency(
            (3, from stream in StreamIndex()
                from json in Gen.Elements(false, true)
                from initial in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 2)))
                select (ScheduleOp)new CreateOp(stream, json, initial)),
            (10, from stream in StreamIndex()
                 from count in Gen.Choose(1, MaxRecordsPerAppend)
                 from sizes in Gen.ListOf(RecordSize(), count)
                 from producer in Gen.Frequency((1, Gen.Constant<ProducerStep?>(null)), (1, ProducerStepGen().Select(step => (ProducerStep?)step)))
                 from seq in Gen.Frequency(
                     (6, Gen.Constant<StreamSeqStep?>(null)),
                     (2, Gen.Constant<StreamSeqStep?>(StreamSeqStep.Increase)),
                     (2, Gen.Constant<StreamSeqStep?>(StreamSeqStep.Repeat)))
                 select (ScheduleOp)new AppendOp(stream, sizes, producer, seq)),
            (1, StreamIndex().Select(stream => (ScheduleOp)new CloseOp(stream))),
            (5, Gen.Constant((ScheduleOp)new SealOp())),
            (1, Gen.Constant((ScheduleOp)new PublishOp())),
            (3, Gen.Elements(false, true).Select(afterQuiet => (ScheduleOp)new CompactOp(afterQuiet))),
            (3, StreamIndex().Select(stream => (ScheduleOp)new IdleOp(stream))),
            (3, RestartGen()));

    /// <summary>
    /// Appends to one stream, each sealed (and so published) on its own, then a compaction: small
    /// segments next to each other, which a compaction merges. Without these runs merges are rare,
    /// as restarts and drains keep interrupting them.
    /// </summary>
    private static Gen<IReadOnlyList<ScheduleOp>> CompactionBurst() =>
        from stream in StreamIndex()
        from appends in Gen.Choose(2, 4)
        from sizes in Gen.ListOf(Gen.ListOf(RecordSize(), 1), appends)
        from afterQuiet in Gen.Elements(false, true)
        select (IReadOnlyList<ScheduleOp>)[.. sizes.SelectMany(size => new ScheduleOp[] { new AppendOp(stream, size), new SealOp() }), new CompactOp(afterQuiet)];

    /// <summary>
    /// A producer appends (with a Stream-Seq), the node stops (and maybe loses its disk) and starts
    /// again, and the producer goes on: the answer shows whether its state, and the Stream-Seq,
    /// survived the restart or the restore.
    /// </summary>
    private static Gen<IReadOnlyList<ScheduleOp>> ProducerAcrossRestart() =>
        from stream in StreamIndex()
        from before in Gen.Elements(ProducerMove.Next, ProducerMove.NewEpoch)
        from seal in Gen.Elements(false, true)
        from restart in RestartGen()
        from after in Gen.Elements(ProducerMove.Next, ProducerMove.Retry, ProducerMove.StaleEpoch, ProducerMove.Gap)
        from seqAfter in Gen.Elements(StreamSeqStep.Increase, StreamSeqStep.Repeat)
        select (IReadOnlyList<ScheduleOp>)
        [
            new AppendOp(stream, [MaxRecordBytes / 2], new ProducerStep(0, before), StreamSeqStep.Increase),
            .. seal ? new ScheduleOp[] { new SealOp() } : [],
            restart,
            new AppendOp(stream, [MaxRecordBytes / 2], new ProducerStep(0, after), seqAfter),
        ];

    /// <summary>A Stream-Seq, then the same one again (refused as a regression), maybe across a seal.</summary>
    private static Gen<IReadOnlyList<ScheduleOp>> StreamSeqRepeated() =>
        from stream in StreamIndex()
        from seal in Gen.Elements(false, true)
        select (IReadOnlyList<ScheduleOp>)
        [
            new AppendOp(stream, [MaxRecordBytes / 2], Seq: StreamSeqStep.Increase),
            .. seal ? new ScheduleOp[] { new SealOp() } : [],
            new AppendOp(stream, [MaxRecordBytes / 2], Seq: StreamSeqStep.Repeat),
        ];

    /// <summary>Two producers; mostly requests that are accepted, so that retries and later epochs have state to meet.</summary>
    private static Gen<ProducerStep> ProducerStepGen() =>
        from producer in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Constant(1)))
        from move in Gen.Frequency(
            (6, Gen.Constant(ProducerMove.Next)),
            (3, Gen.Constant(ProducerMove.Retry)),
            (1, Gen.Constant(ProducerMove.Gap)),
            (1, Gen.Constant(ProducerMove.NewEpoch)),
            (1, Gen.Constant(ProducerMove.NewEpochSeqNotZero)),
            (1, Gen.Constant(ProducerMove.StaleEpoch)))
        select new ProducerStep(producer, move);

    /// <summary>
    /// A crash followed by an eager or lazy restore mostly loses the disk (the restore's reason to
    /// exist); a drain mostly keeps it (a rolling restart); every combination still occurs.
    /// </summary>
    private static Gen<ScheduleOp> RestartGen() =>
        from stop in Gen.Frequency((2, Gen.Constant(StopKind.Crash)), (2, Gen.Constant(StopKind.Drain)), (1, Gen.Constant(StopKind.CrashWhilePublishing)))
        from mode in Gen.Elements(RestoreMode.None, RestoreMode.Eager, RestoreMode.Lazy)
        from loseDisk in stop != StopKind.Drain && mode != RestoreMode.None
            ? Gen.Frequency((1, Gen.Constant(false)), (3, Gen.Constant(true)))
            : Gen.Frequency((2, Gen.Constant(false)), (1, Gen.Constant(true)))
        select (ScheduleOp)new RestartOp(stop, loseDisk, mode);

    /// <summary>
    /// Shorter schedules first (the back half, the front half, then one step at a time), then
    /// simpler steps, then the default tuning: a failure shrinks to a short, plain script.
    /// </summary>
    private static IEnumerable<Schedule> ShrinkSchedule(Schedule schedule)
    {
        var ops = schedule.Ops;
        if (ops.Count > 1)
        {
            var half = ops.Count / 2;
            yield return schedule with { Ops = ops.Take(half).ToList() };
            yield return schedule with { Ops = ops.Skip(half).ToList() };
        }

        for (var i = ops.Count - 1; i >= 0; i--)
        {
            yield return schedule with { Ops = ops.Where((_, j) => j != i).ToList() };
        }

        for (var i = 0; i < ops.Count; i++)
        {
            foreach (var simpler in ops[i].Simpler())
            {
                yield return schedule with { Ops = Replace(ops, i, simpler) };
            }
        }

        if (schedule.FirstMode != RestoreMode.None)
        {
            yield return schedule with { FirstMode = RestoreMode.None };
        }

        for (var i = 0; i < schedule.Names.Count; i++)
        {
            var ascii = StreamNames.Name(i, StreamNameKind.Ascii);
            if (schedule.Names[i] != ascii)
            {
                yield return schedule with { Names = Replace(schedule.Names, i, ascii) };
            }
        }

        var tuning = schedule.Tuning;
        var defaults = EngineTuning.Default;
        if (tuning.SegmentTargetRows != defaults.SegmentTargetRows)
        {
            yield return schedule with { Tuning = tuning with { SegmentTargetRows = defaults.SegmentTargetRows } };
        }

        if (tuning.SegmentBlockBytes != defaults.SegmentBlockBytes)
        {
            yield return schedule with { Tuning = tuning with { SegmentBlockBytes = defaults.SegmentBlockBytes } };
        }

        if (tuning.SegmentCacheBytes != defaults.SegmentCacheBytes)
        {
            yield return schedule with { Tuning = tuning with { SegmentCacheBytes = defaults.SegmentCacheBytes } };
        }

        if (tuning.MaxReadBytes != defaults.MaxReadBytes)
        {
            yield return schedule with { Tuning = tuning with { MaxReadBytes = defaults.MaxReadBytes } };
        }
    }

    // ---- Pipeline ------------------------------------------------------------------------------

    private const int MaxPipelineStreams = 3;
    private const int MaxPipelineSteps = 25;
    private const int MaxPipelineRecordsPerAppend = 6;
    private const int MaxFaultsPerPublish = 4;

    public static Arbitrary<PipelineSchedule> PipelineSchedules() => Arb.From(PipelineScheduleGen(), ShrinkPipelineSchedule);

    private static Gen<PipelineSchedule> PipelineScheduleGen() =>
        from streams in Gen.Choose(1, MaxPipelineStreams)
        // 0: every uploaded segment leaves the local disk at once, so reads download it again.
        from cacheBudget in Gen.Elements(0L, 1_000L, 1L << 30)
        from count in Gen.Sized(size => Gen.Choose(1, Math.Clamp(size, 1, MaxPipelineSteps)))
        from steps in Gen.ListOf(PipelineStepGen(streams), count)
        select new PipelineSchedule(streams, cacheBudget, [.. steps, new SealStep(1, 1, Force: true), new PublishStep(null, Draining: true, [])]);

    private static Gen<PipelineStep> PipelineStepGen(int streams) =>
        Gen.Frequency(
            (6, from stream in Gen.Choose(0, streams - 1)
                from sizes in Gen.NonEmptyListOf(PayloadSizeGen()).Select(list => list.Take(MaxPipelineRecordsPerAppend).ToList())
                select (PipelineStep)new AppendStep(stream, sizes)),
            (3, from rows in Gen.Choose(1, 8)
                from bytes in Gen.Elements(64, 512, 1 << 20)
                from force in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
                select (PipelineStep)new SealStep(rows, bytes, force)),
            (3, from stream in Gen.Frequency((1, Gen.Constant<int?>(null)), (2, Gen.Choose(0, streams - 1).Select(s => (int?)s)))
                from draining in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
                from faults in Gen.Frequency(
                    (2, Gen.Constant<IReadOnlyList<InjectedFault>>([])),
                    (3, Gen.ListOf(FaultGen()).Select(list => (IReadOnlyList<InjectedFault>)list.Take(MaxFaultsPerPublish).ToList())))
                select (PipelineStep)new PublishStep(stream, draining, faults)),
            (1, Gen.Constant<PipelineStep>(new RestartStep())),
            (1, Gen.Constant<PipelineStep>(new ShortReadStep())));

    private static Gen<int> PayloadSizeGen() =>
        Gen.Frequency((6, Gen.Choose(0, 40)), (3, Gen.Choose(41, 300)), (1, Gen.Choose(301, 2_000)));

    private static Gen<InjectedFault> FaultGen() =>
        Gen.Frequency(
            (3, Gen.Constant(InjectedFault.None)),
            (2, Gen.Constant(InjectedFault.FailBefore)),
            (2, Gen.Constant(InjectedFault.FailAfter)),
            (1, Gen.Constant(InjectedFault.Timeout)));

    /// <summary>
    /// Fewer steps first (the closing seal and publish stay), then fewer records, smaller payloads
    /// and fewer faults, so a failure reports a short schedule.
    /// </summary>
    private static IEnumerable<PipelineSchedule> ShrinkPipelineSchedule(PipelineSchedule value)
    {
        var steps = value.Steps;
        // The last two steps are the closing seal and publish; only the ones before them shrink.
        var body = steps.Take(steps.Count - 2).ToList();
        var closing = steps.Skip(steps.Count - 2).ToList();
        if (body.Count > 1)
        {
            yield return value with { Steps = [.. body.Take(body.Count / 2), .. closing] };
        }

        for (var i = 0; i < body.Count; i++)
        {
            yield return value with { Steps = [.. body.Where((_, j) => j != i), .. closing] };
        }

        for (var i = 0; i < body.Count; i++)
        {
            foreach (var smaller in ShrinkStep(body[i]))
            {
                yield return value with { Steps = [.. Replace(body, i, smaller), .. closing] };
            }
        }

        if (value.CacheBudgetBytes != 1L << 30)
        {
            yield return value with { CacheBudgetBytes = 1L << 30 };
        }
    }

    private static IEnumerable<PipelineStep> ShrinkStep(PipelineStep step)
    {
        switch (step)
        {
            case AppendStep append when append.PayloadSizes.Count > 1:
                yield return append with { PayloadSizes = append.PayloadSizes.Take(append.PayloadSizes.Count / 2).ToList() };
                yield return append with { PayloadSizes = [append.PayloadSizes[0]] };
                break;
            case AppendStep append when append.PayloadSizes[0] > 0:
                yield return append with { PayloadSizes = [append.PayloadSizes[0] / 2] };
                break;
            case PublishStep publish when publish.Faults.Count > 0:
                yield return publish with { Faults = [] };
                yield return publish with { Faults = publish.Faults.Take(publish.Faults.Count - 1).ToList() };
                break;
            case SealStep seal when !seal.Force:
                yield return seal with { Force = true };
                break;
        }
    }

    private static List<T> Replace<T>(IReadOnlyList<T> list, int index, T item)
    {
        var copy = list.ToList();
        copy[index] = item;
        return copy;
    }
}
