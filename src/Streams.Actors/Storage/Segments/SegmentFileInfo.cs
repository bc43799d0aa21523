namespace Streams.Actors.Storage.Segments;

/// <summary>
/// What the manifest needs to know about a segment file that has been written durably.
/// </summary>
/// <param name="Path">Full path of the file.</param>
/// <param name="FirstPosition">Position of the segment's first record.</param>
/// <param name="RecordCount">Number of records, at least one.</param>
/// <param name="SizeBytes">File length in bytes.</param>
/// <param name="Checksum">Lowercase hex SHA-256 of the file, see <see cref="SegmentChecksum"/>.</param>
public sealed record SegmentFileInfo(string Path, long FirstPosition, long RecordCount, long SizeBytes, string Checksum)
{
    public long LastPosition => FirstPosition + RecordCount - 1;
}
