namespace Streams.Actors.Storage.Segments;

/// <summary>
/// One footer entry: where a block sits in the file and which records it holds.
/// </summary>
internal readonly record struct SegmentBlockInfo(
    long FirstPosition,
    long FileOffset,
    int RecordCount,
    int UncompressedLength,
    int CompressedLength)
{
    public long LastPosition => FirstPosition + RecordCount - 1;

    /// <summary>File offset just past the block's compressed bytes.</summary>
    public long EndOffset => FileOffset + SegmentFormat.BlockHeaderLength + CompressedLength;
}
