using Streams.Actors.Domain;

namespace Streams.Actors.Protocol;

/// <summary>What a stream's owner answers.</summary>
public static class StreamReplies
{
    /// <summary>The stream's externally visible state at the moment of the reply.</summary>
    public sealed record StreamView(
        string Name,
        long Incarnation,
        string ContentType,
        Offset Tail,
        bool Closed,
        long? TtlSeconds,
        DateTimeOffset? ExpiresAt);

    public sealed record StreamCreated(StreamView Stream, bool Created);

    /// <summary>
    /// An accepted append (or close). <paramref name="Producer"/> echoes the producer's accepted
    /// (epoch, seq); <paramref name="Duplicate"/> marks a retry that was already applied.
    /// </summary>
    public sealed record Appended(Offset NextOffset, bool Closed, ProducerState? Producer, bool Duplicate);

    /// <summary>
    /// Records in [<paramref name="From"/>, <paramref name="Next"/>). <paramref name="UpToDate"/>: the
    /// reply reaches the tail. <paramref name="Closed"/>: the stream is closed and this reply reaches
    /// its final offset. <paramref name="TimedOut"/>: a live wait ended without data.
    /// </summary>
    public sealed record ReadCompleted(
        StreamView Stream,
        Offset From,
        Offset Next,
        IReadOnlyList<ReadOnlyMemory<byte>> Records,
        bool UpToDate,
        bool Closed,
        bool TimedOut);

    public sealed record StreamDescribed(StreamView Stream);

    public sealed record StreamDeleted(string Name);

    /// <summary>Offsets of the pipeline stages plus counters, for <c>_details</c>.</summary>
    public sealed record StreamDetailsReported(
        StreamView Stream,
        Offset SealedThrough,
        Offset UploadedThrough,
        long SegmentCount,
        long UploadedSegmentCount,
        long PendingRows,
        long PendingBytes,
        long ManifestGeneration,
        DateTimeOffset? LastUploadAt,
        string? LastUploadError,
        bool Restored)
    {
        /// <summary>Long-poll and SSE readers parked in the stream's owner, waiting for records or closure.</summary>
        public int LiveReaders { get; init; }
    }

    /// <summary>
    /// A business failure. Optional fields carry what the protocol sends with some of them: the tail
    /// (closed stream, lost offset), the producer's current epoch (stale epoch) and the expected and
    /// received seq (gap).
    /// </summary>
    public sealed record StreamRejected(
        ErrorCode Code,
        string Message,
        Offset? NextOffset = null,
        bool Closed = false,
        long? ProducerEpoch = null,
        long? ExpectedSeq = null,
        long? ReceivedSeq = null);
}
