using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Storage;

/// <summary>Where sealed segment files live on local disk: one directory per stream hash.</summary>
public sealed class SegmentFiles(string dataDirectory)
{
    public const string DirectoryName = "segments";

    public string Root { get; } = Path.Combine(dataDirectory, DirectoryName);

    /// <summary>The local file of a segment: named like its object, so two segments never share a file.</summary>
    public string PathFor(string streamName, SegmentRow segment) => PathFor(streamName, segment.StoredName);

    /// <summary>The local file of the segment object called <paramref name="objectName"/>.</summary>
    public string PathFor(string streamName, string objectName)
    {
        if (!ObjectStoreKeys.IsValidSegmentObjectName(objectName))
        {
            throw new ArgumentException($"'{objectName}' is not a segment object name", nameof(objectName));
        }

        return Path.Combine(StreamDirectory(streamName), objectName);
    }

    /// <summary>The directory holding one stream's local segment files.</summary>
    public string StreamDirectory(string streamName) => Path.Combine(Root, StreamNaming.Hash(streamName));

    /// <summary>
    /// Removes segment files the index does not know (given every path it does know): a crash between
    /// a seal's rename and its commit leaves one, under a name no later seal reuses. Run at start-up,
    /// before anything seals or downloads. Yields the number removed.
    /// </summary>
    public int RemoveUnreferencedFiles(IEnumerable<string> referencedPaths)
    {
        if (!Directory.Exists(Root))
        {
            return 0;
        }

        var referenced = new HashSet<string>(referencedPaths.Select(Path.GetFullPath), StringComparer.Ordinal);
        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(Root, "*" + ObjectStoreKeys.SegmentExtension, SearchOption.AllDirectories))
        {
            if (!referenced.Contains(Path.GetFullPath(file)))
            {
                File.Delete(file);
                removed++;
            }
        }

        return removed;
    }

    /// <summary>
    /// Removes temp files left by a crash between writing and renaming a segment: they were never
    /// committed to the index, so nothing refers to them.
    /// </summary>
    public int RemoveLeftoverTempFiles() => AtomicFile.RemoveLeftoverTempFiles(Root);
}
