using System.Globalization;
using System.Text;
using Streams.Actors.Restore;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// One generated case of the read-equivalence property: the restore mode the first node starts in
/// (on an empty disk and an empty object store), a list of operations over a few streams, and the
/// engine tuning to run them with. Every sub-list of a schedule is again a valid schedule (an
/// operation on a stream that does not exist just expects "not found"), so shrinking can drop any
/// operation. The streams' names are generated too (<see cref="StreamNames"/>).
/// </summary>
public sealed record Schedule(RestoreMode FirstMode, IReadOnlyList<ScheduleOp> Ops, EngineTuning Tuning, IReadOnlyList<string> Names)
{
    public const int StreamCount = 3;

    /// <summary>One numbered operation per line, so a shrunk counterexample reads as a script.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Schedule ({Ops.Count} steps, {Tuning}), first node in restore mode {FirstMode}, streams {string.Join(", ", Names.Select((name, i) => $"s{i} = {name}"))}:");
        for (var i = 0; i < Ops.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n  {i + 1,2}. {Ops[i]}");
        }

        return text.ToString();
    }
}

/// <summary>
/// Engine settings a case runs with. Small values push reads across many blocks, segments and
/// pages, and a zero segment cache makes every read of a published segment go to the object store.
/// </summary>
public sealed record EngineTuning(long MaxReadBytes, int SegmentTargetRows, int SegmentBlockBytes, long SegmentCacheBytes)
{
    public static EngineTuning Default => new(MaxReadBytes: 64, SegmentTargetRows: 10_000, SegmentBlockBytes: 65_536, SegmentCacheBytes: 1 << 20);

    public override string ToString() =>
        $"read pages of {MaxReadBytes} B, segments of {SegmentTargetRows} rows, blocks of {SegmentBlockBytes} B, segment cache {SegmentCacheBytes} B";
}

/// <summary>A step of a schedule. <see cref="Simpler"/> lists smaller variants for shrinking.</summary>
public abstract record ScheduleOp
{
    public virtual IEnumerable<ScheduleOp> Simpler() => [];

    protected static string Label(int stream) => $"s{stream}";
}

/// <summary>PUT: a bytes or JSON stream with <paramref name="InitialRecords"/> records in its body.</summary>
public sealed record CreateOp(int Stream, bool Json, int InitialRecords) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (InitialRecords > 0)
        {
            yield return this with { InitialRecords = 0 };
        }

        if (Json)
        {
            yield return this with { Json = false };
        }

        if (Stream > 0)
        {
            yield return this with { Stream = 0 };
        }
    }

    public override string ToString() =>
        $"create {Label(Stream)} {(Json ? "json" : "bytes")}{(InitialRecords > 0 ? $" with {InitialRecords} records" : string.Empty)}";
}

/// <summary>
/// POSTs records of the given sizes. A bytes stream gets one request per record (a body is one
/// record); a JSON stream gets one value, or one array body that the server splits into records.
/// With <paramref name="Producer"/> every request carries Producer-Id/Epoch/Seq, chosen relative
/// to what the model says the producer last had accepted; with <paramref name="Seq"/> every request
/// carries a Stream-Seq relative to the last one accepted. Such requests go one at a time.
/// </summary>
public sealed record AppendOp(int Stream, IReadOnlyList<int> Sizes, ProducerStep? Producer = null, StreamSeqStep? Seq = null) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (Producer is not null)
        {
            yield return this with { Producer = null };
        }

        if (Seq is not null)
        {
            yield return this with { Seq = null };
        }

        if (Sizes.Count > 1)
        {
            yield return this with { Sizes = [Sizes[0]] };
            for (var i = 0; i < Sizes.Count; i++)
            {
                yield return this with { Sizes = Sizes.Where((_, j) => j != i).ToList() };
            }
        }

        for (var i = 0; i < Sizes.Count; i++)
        {
            if (Sizes[i] > 1)
            {
                var smaller = Sizes.ToList();
                smaller[i] = Sizes[i] / 2;
                yield return this with { Sizes = smaller };
            }
        }

        if (Stream > 0)
        {
            yield return this with { Stream = 0 };
        }
    }

    public override string ToString() =>
        $"append {Label(Stream)} [{string.Join(", ", Sizes)}]{(Producer is { } producer ? $" as {producer}" : string.Empty)}{(Seq is { } seq ? $" with Stream-Seq {seq}" : string.Empty)}";
}

/// <summary>A close-only POST (no body, Stream-Closed: true).</summary>
public sealed record CloseOp(int Stream) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (Stream > 0)
        {
            yield return this with { Stream = 0 };
        }
    }

    public override string ToString() => $"close {Label(Stream)}";
}

/// <summary>
/// The segmenter's forced round (<c>SealAll</c>): every waiting WAL row of every stream goes into
/// segments, whatever the thresholds. When it sealed anything the uploader runs a round at once, as
/// in the running server, and the step waits for it.
/// </summary>
public sealed record SealOp : ScheduleOp
{
    public override string ToString() => "seal tick";
}

/// <summary>The uploader's periodic round (<c>PublishAll</c>, not draining): publishes every stream that is behind.</summary>
public sealed record PublishOp : ScheduleOp
{
    public override string ToString() => "upload tick";
}

/// <summary>
/// The compactor's round (<c>CompactNow</c>), and the upload round it starts when it merged
/// anything. With <paramref name="AfterQuiet"/> the clock then moves past the quiet time and the
/// deletion grace and a second round follows: the streams the first saw have their whole small
/// tail merged, and objects that compactions replaced are deleted.
/// </summary>
public sealed record CompactOp(bool AfterQuiet) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (AfterQuiet)
        {
            yield return this with { AfterQuiet = false };
        }
    }

    public override string ToString() => AfterQuiet ? "compaction tick, time passes, compaction tick" : "compaction tick";
}

/// <summary>
/// The stream's owner sees its idle timeout: it stops, and under lazy restore it first drops the
/// local rows and files of a stream the object store holds completely.
/// </summary>
public sealed record IdleOp(int Stream) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (Stream > 0)
        {
            yield return this with { Stream = 0 };
        }
    }

    public override string ToString() => $"idle {Label(Stream)}";
}

public enum StopKind
{
    /// <summary>Everything in memory is dropped; what the local index committed survives on its disk.</summary>
    Crash,

    /// <summary>The graceful drain: refuse appends, seal every tail, publish every stream as cleanly drained.</summary>
    Drain,

    /// <summary>
    /// Every stream is published, but the node dies after each manifest reached the object store and
    /// before the local index recorded it.
    /// </summary>
    CrashWhilePublishing,
}

/// <summary>
/// Stops the node, optionally loses its disk (a new node on an empty data directory), and starts
/// it again in <paramref name="Mode"/>.
/// </summary>
public sealed record RestartOp(StopKind Stop, bool LoseDisk, RestoreMode Mode) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (Stop != StopKind.Crash)
        {
            yield return this with { Stop = StopKind.Crash };
        }

        if (Mode != RestoreMode.None)
        {
            yield return this with { Mode = RestoreMode.None };
        }

        if (LoseDisk)
        {
            yield return this with { LoseDisk = false };
        }
    }

    public override string ToString() =>
        $"{StopText}{(LoseDisk ? ", lose the disk" : string.Empty)}, restart with restore mode {Mode}";

    private string StopText =>
        Stop switch
        {
            StopKind.Drain => "drain",
            StopKind.CrashWhilePublishing => "crash while publishing",
            _ => "crash",
        };
}

/// <summary>How a producer request's (epoch, seq) relates to the producer's last accepted pair.</summary>
public enum ProducerMove
{
    /// <summary>Same epoch, the next seq (epoch 0, seq 0 for a producer never seen): accepted.</summary>
    Next,

    /// <summary>The last accepted pair again: a retry, answered as a duplicate.</summary>
    Retry,

    /// <summary>Same epoch, a seq skipped: refused with the seq expected.</summary>
    Gap,

    /// <summary>The next epoch at seq 0: accepted, fencing the older epoch.</summary>
    NewEpoch,

    /// <summary>The next epoch at seq 1: refused.</summary>
    NewEpochSeqNotZero,

    /// <summary>The previous epoch (when there is one) with the next seq: refused as stale.</summary>
    StaleEpoch,
}

/// <summary>An idempotent producer's request: which of the run's producers, and how its claim relates to its state.</summary>
public sealed record ProducerStep(int Producer, ProducerMove Move)
{
    public static string ProducerId(int producer) => producer switch
    {
        0 => "producer-0",
        // Outside the Basic Multilingual Plane: the id travels through the index, manifests and restore.
        _ => $"producer-\U0001F680-{producer}",
    };

    public override string ToString() => $"p{Producer} {Move}";
}

/// <summary>How a request's Stream-Seq relates to the last one the stream accepted.</summary>
public enum StreamSeqStep
{
    /// <summary>Greater than the last one: accepted.</summary>
    Increase,

    /// <summary>The last one again (any value if none was accepted yet): refused as a regression.</summary>
    Repeat,
}

/// <summary>
/// The names a schedule's streams can have. Most hold characters outside the Basic Multilingual
/// Plane (surrogate pairs in UTF-16: emoji, CJK Extension B ideographs, mathematical letters),
/// which every path a name travels — hashing, keys, manifests, restore — must keep whole.
/// </summary>
public enum StreamNameKind
{
    Ascii,
    Emoji,
    CjkExtensionB,
    Mixed,
}

public static class StreamNames
{
    public static string Name(int stream, StreamNameKind kind) => kind switch
    {
        StreamNameKind.Emoji => $"equiv/\U0001F600/s{stream}\U0001F680",
        StreamNameKind.CjkExtensionB => $"equiv/\U00020000\U0002A6D6s{stream}",
        StreamNameKind.Mixed => $"\U0001D49Cquiv/\u00E9\u6F22\U00020B9F/s{stream}/\U0001F4A9",
        _ => $"equiv/s{stream}",
    };
}
