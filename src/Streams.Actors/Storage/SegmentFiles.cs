using System.Globalization;
using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>Where sealed segment files live on local disk: one directory per stream hash.</summary>
public sealed class SegmentFiles(string dataDirectory)
{
    public const string DirectoryName = "segments";

    public string Root { get; } = Path.Combine(dataDirectory, DirectoryName);

    public string PathFor(string streamName, long index) =>
        Path.Combine(Root, StreamNaming.Hash(streamName), index.ToString("D16", CultureInfo.InvariantCulture) + ".seg");

    /// <summary>
    /// Removes temp files left by a crash between writing and renaming a segment: they were never
    /// committed to the index, so nothing refers to them.
    /// </summary>
    public int RemoveLeftoverTempFiles() => AtomicFile.RemoveLeftoverTempFiles(Root);
}
