using Streams.Actors.Domain;
using Streams.Actors.Storage;

namespace Streams.Actors.Protocol;

/// <summary>
/// Forks: the PUT that creates one, and what a fork's owner and its source's owner say to each other.
/// Each is addressed to one stream by name, so it is routed like any other stream command.
/// </summary>
public static class ForkMessages
{
    /// <summary>Marks the fork family, so a stream's owner can hand all of it to one handler.</summary>
    public interface IForkCommand : IStreamCommand;

    /// <summary>
    /// PUT with <c>Stream-Forked-From</c>. <paramref name="ContentType"/> is null when the request had
    /// none (the fork inherits the source's); <paramref name="InitialBody"/> is unsplit because JSON mode
    /// is known only once the content type is. <paramref name="ForkOffset"/> null means the source's
    /// tail; <paramref name="SubOffset"/> 0 means none. With neither TTL nor expiry the fork inherits the
    /// source's.
    /// </summary>
    public sealed record CreateFork(
        string StreamName,
        string? ContentType,
        long? TtlSeconds,
        DateTimeOffset? ExpiresAt,
        bool Closed,
        byte[] InitialBody,
        string SourceName,
        Offset? ForkOffset,
        long SubOffset) : IForkCommand;

    /// <summary>
    /// From a fork's owner to its source's owner (<paramref name="StreamName"/> is the source): check
    /// that it can be forked there and describe itself. Answered with <see cref="ForkSourceDescribed"/>
    /// or a <see cref="StreamReplies.StreamRejected"/>. Takes no reference: the fork's row does that
    /// when it commits.
    /// </summary>
    public sealed record DescribeForkSource(
        string StreamName,
        string ForkName,
        string? ContentType,
        Offset? ForkOffset,
        long SubOffset) : IForkCommand;

    /// <summary>
    /// A fork of <paramref name="StreamName"/> was removed for good. A soft-deleted source then checks
    /// whether anything still references it and, if not, removes itself, which cascades up the chain.
    /// A sender other than NoSender (cluster mode) is answered <see cref="ForkReleaseNoted"/> once the
    /// source has taken it in, so a client told "deleted" afterwards finds the source collected.
    /// </summary>
    public sealed record ForkReleased(string StreamName) : IForkCommand;

    /// <summary>The source has taken a <see cref="ForkReleased"/> in (and, if soft-deleted, started collecting).</summary>
    public sealed record ForkReleaseNoted(string StreamName);

    /// <summary>
    /// Cluster mode: a fork asks its source (<paramref name="StreamName"/>) for the records in
    /// [<paramref name="FromPosition"/>, <paramref name="ToPosition"/>), below the fork position, within
    /// <paramref name="MaxBytes"/> (at least one record). Answered by a Ready or soft-deleted source,
    /// from its own lineage, with <see cref="ForkRangeRead"/> or a rejection.
    /// <paramref name="SkipBytes"/> above 0 continues a record too large for one answer from that byte.
    /// </summary>
    public sealed record ReadForkRange(string StreamName, long FromPosition, long ToPosition, long MaxBytes, long SkipBytes) : IForkCommand;

    /// <summary>
    /// Whole records from the position asked for, in order; or, when <paramref name="PartialRecordLength"/>
    /// is above 0, one piece of the record at that position (whose full length it gives), starting at the
    /// asked <c>SkipBytes</c>: the record is larger than one answer may carry.
    /// </summary>
    public sealed record ForkRangeRead(IReadOnlyList<byte[]> Records, long PartialRecordLength);

    /// <summary>Cluster mode: where does the append covering <paramref name="Position"/> end (a JSON sub-offset counts within it)?</summary>
    public sealed record FindForkAppendEnd(string StreamName, long Position) : IForkCommand;

    public sealed record ForkAppendEndFound(long EndPosition);

    /// <summary>
    /// What the fork needs from its source at creation. <paramref name="ForkPosition"/> is the resolved
    /// fork offset; <paramref name="Prefix"/> the records the sub-offset materialises (empty without one);
    /// <paramref name="Epochs"/> the source's epochs up to the fork position, so inherited offsets are
    /// spelled as the source spells them; <paramref name="Lineage"/> which streams serve the source's
    /// positions (plain entries, so the message stays serializable).
    /// </summary>
    public sealed record ForkSourceDescribed(
        long StreamId,
        string Name,
        string ContentType,
        long? TtlSeconds,
        long? ExpiresAtMs,
        long ForkPosition,
        IReadOnlyList<EpochStart> Epochs,
        IReadOnlyList<LineageEntry> Lineage,
        IReadOnlyList<byte[]> Prefix);
}
