namespace Streams.Actors.Storage;

/// <summary>Writes of the <c>segments</c> table that a seal, a compaction and a restore share.</summary>
internal static class SegmentsTable
{
    /// <summary>Records <paramref name="segment"/> as a segment of <paramref name="streamId"/>, in the caller's transaction.</summary>
    public static void Insert(WalSession session, long streamId, SegmentRow segment) =>
        session.Execute(
            """
            INSERT INTO segments (stream_id, segment_index, first_position, record_count, byte_size, checksum,
                                  uploaded, producer_updates, last_stream_seq, object_name)
            VALUES ($id, $index, $first, $count, $size, $checksum, $uploaded, $producers, $seq, $objectName)
            """,
            ("$id", streamId),
            ("$index", segment.Index),
            ("$first", segment.FirstPosition),
            ("$count", segment.RecordCount),
            ("$size", segment.ByteSize),
            ("$checksum", segment.Checksum),
            ("$uploaded", segment.Uploaded ? 1 : 0),
            ("$producers", segment.ProducerUpdates.Count == 0 ? null : ProducerJson.Serialize(segment.ProducerUpdates)),
            ("$seq", segment.LastStreamSeq),
            ("$objectName", segment.ObjectName));
}
