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

    /// <summary>
    /// The segments <paramref name="manifest"/> lists, in order, as rows (uploaded, stream id 0, each
    /// row's index the entry's).
    /// </summary>
    public static List<SegmentRow> ListedBy(StreamManifest manifest)
    {
        var segments = new List<SegmentRow>(manifest.Segments.Count);
        // A fork's own segments start at its fork position; below it the source holds the records.
        var first = manifest.FirstSegmentPosition;
        for (var index = 0; index < manifest.Segments.Count; index++)
        {
            var count = manifest.Segments.RecordCounts[index];
            segments.Add(new SegmentRow(
                0,
                index,
                first,
                count,
                manifest.Segments.ByteSizes[index],
                manifest.Segments.Checksums[index],
                Uploaded: true,
                [],
                null,
                // Keep the name only where it is not the entry's format-1 name: the row's index is the
                // entry's, so a null name means the same key.
                manifest.Segments.ObjectNames?[index]));
            first += count;
        }

        return segments;
    }
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
    bool PublishedClosed)
{
    /// <summary>The compaction layout of <see cref="Segments"/>: the manifest built from them lists this one.</summary>
    public long LayoutVersion { get; init; }

    /// <summary>The layout the last committed publish listed.</summary>
    public long PublishedLayoutVersion { get; init; }
}

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
