using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Storage;

/// <summary>A stream with records not yet sealed, and how much is waiting.</summary>
public sealed record SealCandidate(
    long StreamId,
    string Name,
    long SealedThrough,
    long NextPosition,
    long PendingRows,
    long PendingBytes,
    long OldestPendingMs);

/// <summary>A WAL row as the segmenter needs it, with the producer and Stream-Seq it advanced.</summary>
public sealed record WalRow(
    long Position,
    long TimestampMs,
    byte[] Payload,
    ProducerState? Producer,
    string? StreamSeq);

/// <summary>
/// A sealed segment of a stream, as recorded in the local index. <see cref="Index"/> orders a
/// stream's segments (it only grows; a compaction leaves gaps). <see cref="ObjectName"/> is the name
/// of its object under the stream's <c>segments/</c> prefix and of its local file, chosen when it was
/// sealed; null for a segment known only by its format-1 name, <c>&lt;Index:D16&gt;.seg</c>.
/// </summary>
public sealed record SegmentRow(
    long StreamId,
    long Index,
    long FirstPosition,
    long RecordCount,
    long ByteSize,
    string Checksum,
    bool Uploaded,
    IReadOnlyList<ProducerState> ProducerUpdates,
    string? LastStreamSeq,
    string? ObjectName = null)
{
    public long EndPosition => FirstPosition + RecordCount;

    /// <summary>The name the object and the local file have: the recorded one, else the format-1 name.</summary>
    public string StoredName => ObjectName ?? ObjectStoreKeys.LegacySegmentObjectName(Index);
}

/// <summary>
/// A consistent view of one stream for publishing (one read transaction): its row, its segments
/// in index order, and its current producers.
/// </summary>
public sealed record PublishSnapshot(
    StreamRow Stream,
    IReadOnlyList<SegmentRow> Segments,
    IReadOnlyList<ProducerState> PublishedProducers,
    string? PublishedStreamSeq,
    bool PublishedClosed);

/// <summary>A deleted stream whose tombstone manifest is waiting to be published.</summary>
public sealed record PendingTombstone(string Name, long Generation);

/// <summary>A stream's pipeline positions and counters (positions are record counts).</summary>
public sealed record StreamDetails(
    long NextPosition,
    long SealedThrough,
    long UploadedThrough,
    long ManifestGeneration,
    long? LastUploadAtMs,
    string? LastUploadError,
    long SegmentCount,
    long UploadedSegmentCount,
    long PendingRows,
    long PendingBytes,
    bool Restored);
