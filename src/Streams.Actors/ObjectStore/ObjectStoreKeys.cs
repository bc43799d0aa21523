using System.Globalization;
using Streams.Actors.Domain;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// The object key layout shared by every store (see docs/storage-format.md):
/// <c>streams/&lt;h&gt;/manifest.json</c> and <c>streams/&lt;h&gt;/segments/&lt;index:D16&gt;.seg</c>,
/// where h is the lowercase hex of the first 16 bytes of SHA-256 of the UTF-8 stream name.
/// A deployment-wide prefix, if any, is applied by the store, not here.
/// </summary>
public static class ObjectStoreKeys
{
    /// <summary>Every stream's objects live under this prefix; list it to find all streams.</summary>
    public const string StreamsPrefix = "streams/";

    public const string ManifestFileName = "manifest.json";
    public const string SegmentsDirectoryName = "segments";
    public const string SegmentExtension = ".seg";

    // Zero-padded so that listing order equals numeric order.
    private const string SegmentIndexFormat = "D16";

    /// <summary>The stream's <see cref="StreamNaming.Hash"/>, identifying it in object keys.</summary>
    public static string StreamHash(string streamName)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamName);
        return StreamNaming.Hash(streamName);
    }

    /// <summary>The prefix, ending in '/', under which all of one stream's objects live.</summary>
    public static string StreamDirectory(string streamName) => StreamsPrefix + StreamHash(streamName) + "/";

    public static string ManifestKey(string streamName) => StreamDirectory(streamName) + ManifestFileName;

    /// <summary>The prefix, ending in '/', under which one stream's segments live.</summary>
    public static string SegmentsPrefix(string streamName) =>
        StreamDirectory(streamName) + SegmentsDirectoryName + "/";

    public static string SegmentKey(string streamName, long segmentIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(segmentIndex);
        return SegmentsPrefix(streamName)
            + segmentIndex.ToString(SegmentIndexFormat, CultureInfo.InvariantCulture)
            + SegmentExtension;
    }

    /// <summary>True for a key of the form <c>streams/&lt;h&gt;/manifest.json</c>.</summary>
    public static bool IsManifestKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hashLength = StreamNaming.HashLength;
        return key.Length == StreamsPrefix.Length + hashLength + 1 + ManifestFileName.Length
            && key.StartsWith(StreamsPrefix, StringComparison.Ordinal)
            && key.EndsWith("/" + ManifestFileName, StringComparison.Ordinal)
            && IsLowercaseHex(key.AsSpan(StreamsPrefix.Length, hashLength));
    }

    private static bool IsLowercaseHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}
