namespace Streams.Actors.Storage.Segments;

/// <summary>
/// A segment's object is not in the object store: deleted after a compaction replaced it (a reader
/// holding an older segment list then finds the records in the current manifest's segments), or lost.
/// </summary>
public sealed class SegmentMissingException(string key)
    : IOException($"Segment '{key}' is missing from the object store")
{
    public string Key { get; } = key;
}
