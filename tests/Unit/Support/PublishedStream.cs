using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage.Segments;

namespace Streams.Tests.Unit.Support;

/// <summary>
/// A stream as the object store alone describes it: its manifest and the records of the segments
/// the manifest lists, read the way a restoring node reads them (no server involved).
/// </summary>
internal sealed record PublishedStream(StreamManifest Manifest, IReadOnlyList<byte[]> Records)
{
    /// <summary>
    /// The manifest of <paramref name="name"/> and its records; null when there is no manifest.
    /// Throws when a listed segment is missing, differs from its description, or does not start
    /// where the previous one ended.
    /// </summary>
    public static async Task<PublishedStream?> ReadAsync(IObjectStore store, string name, CancellationToken cancellationToken)
    {
        var manifestBytes = await store.GetAsync(ObjectStoreKeys.ManifestKey(name), cancellationToken);
        if (manifestBytes is null)
        {
            return null;
        }

        var manifest = StreamManifest.Parse(manifestBytes);
        if (manifest.Name != name)
        {
            throw new InvalidDataException($"the manifest of '{name}' names '{manifest.Name}'");
        }

        var records = new List<byte[]>();
        for (var index = 0; index < manifest.Segments.Count; index++)
        {
            var key = ObjectStoreKeys.SegmentKey(name, manifest.Segments.ObjectNameAt(index));
            var bytes = await store.GetAsync(key, cancellationToken)
                ?? throw new InvalidDataException($"the manifest of '{name}' lists {key}, which is not in the store");
            if (bytes.LongLength != manifest.Segments.ByteSizes[index] || SegmentChecksum.Compute(bytes) != manifest.Segments.Checksums[index])
            {
                throw new InvalidDataException($"{key} does not match its size or checksum in the manifest");
            }

            var reader = new SegmentReader(bytes, key);
            if (reader.FirstPosition != records.Count || reader.RecordCount != manifest.Segments.RecordCounts[index])
            {
                throw new InvalidDataException(
                    $"{key} holds [{reader.FirstPosition}, {reader.FirstPosition + reader.RecordCount}), the manifest says {manifest.Segments.RecordCounts[index]} records from {records.Count}");
            }

            records.AddRange(reader.ReadAll().Select(record => record.Payload.ToArray()));
        }

        return new PublishedStream(manifest, records);
    }

    /// <summary>Names of the segment objects stored for <paramref name="name"/> (keys without the stream's segments prefix), in key order.</summary>
    public static async Task<List<string>> StoredSegmentNamesAsync(IObjectStore store, string name, CancellationToken cancellationToken)
    {
        var prefix = ObjectStoreKeys.SegmentsPrefix(name);
        var names = new List<string>();
        string? continuation = null;
        do
        {
            var page = await store.ListAsync(prefix, continuation, 1000, cancellationToken);
            names.AddRange(page.Objects.Select(entry => entry.Key[prefix.Length..]));
            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return names;
    }

    /// <summary>The names of the segment objects <paramref name="manifest"/> lists, in list order.</summary>
    public static List<string> ListedSegmentNames(StreamManifest manifest) =>
        [.. Enumerable.Range(0, manifest.Segments.Count).Select(manifest.Segments.ObjectNameAt)];
}
