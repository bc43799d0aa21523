namespace Streams.Actors.Storage.Segments;

/// <summary>
/// A segment file failed validation: a magic, version, length or CRC-32C did not match. The reader
/// throws it instead of returning any bytes it cannot vouch for.
/// </summary>
public sealed class SegmentCorruptException : IOException
{
    public SegmentCorruptException(string segmentName, int? blockIndex, string detail, Exception? innerException = null)
        : base(FormatMessage(segmentName, blockIndex, detail), innerException)
    {
        SegmentName = segmentName;
        BlockIndex = blockIndex;
    }

    /// <summary>The name the segment was opened under (a path or an object key).</summary>
    public string SegmentName { get; }

    /// <summary>The 0-based block at fault, or null when the file structure itself is bad.</summary>
    public int? BlockIndex { get; }

    private static string FormatMessage(string segmentName, int? blockIndex, string detail) =>
        blockIndex is { } block
            ? $"Segment '{segmentName}' is corrupt in block {block}: {detail}"
            : $"Segment '{segmentName}' is corrupt: {detail}";
}
