using System.Globalization;
using System.Text;
using Streams.Actors.Restore;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// One generated case of the read-equivalence property: the restore mode the first node starts in
/// (on an empty disk and an empty object store), a list of operations over a few streams, and the
/// engine tuning to run them with. Every sub-list of a schedule is again a valid schedule (an
/// operation on a stream that does not exist just expects "not found"), so shrinking can drop any
/// operation.
/// </summary>
public sealed record Schedule(RestoreMode FirstMode, IReadOnlyList<ScheduleOp> Ops, EngineTuning Tuning)
{
    public const int StreamCount = 3;

    /// <summary>
    /// Two of the names hold characters outside the Basic Multilingual Plane (surrogate pairs in
    /// UTF-16), which every path a name travels — hashing, keys, manifests, restore — must keep whole.
    /// </summary>
    public static string StreamName(int stream) => stream switch
    {
        1 => $"equiv/\U0001F600/s{stream}",
        2 => $"equiv/\U00020000s{stream}\U0001F600",
        _ => $"equiv/s{stream}",
    };

    /// <summary>One numbered operation per line, so a shrunk counterexample reads as a script.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Schedule ({Ops.Count} steps, {Tuning}), first node in restore mode {FirstMode}:");
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
/// </summary>
public sealed record AppendOp(int Stream, IReadOnlyList<int> Sizes) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
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

    public override string ToString() => $"append {Label(Stream)} [{string.Join(", ", Sizes)}]";
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

/// <summary>Seals every waiting WAL row of every stream into segments, whatever the thresholds.</summary>
public sealed record SealOp : ScheduleOp
{
    public override string ToString() => "seal all";
}

/// <summary>
/// Uploads the sealed segments of the given streams and publishes their manifests; with
/// <paramref name="SealFirst"/> every stream is sealed just before, as the pipeline does when the
/// segmenter hands its segments to the uploader.
/// </summary>
public sealed record PublishOp(IReadOnlyList<int> Streams, bool SealFirst) : ScheduleOp
{
    public override IEnumerable<ScheduleOp> Simpler()
    {
        if (Streams.Count > 1)
        {
            foreach (var stream in Streams)
            {
                yield return this with { Streams = [stream] };
            }
        }
    }

    public override string ToString() => $"{(SealFirst ? "seal all, then publish" : "publish")} {string.Join(" ", Streams.Select(Label))}";
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
