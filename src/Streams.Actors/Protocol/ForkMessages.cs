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
    /// </summary>
    public sealed record ForkReleased(string StreamName) : IForkCommand;

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
