using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Streams.Actors.Domain;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// The object key layout shared by every store (see docs/storage-format.md):
/// <c>streams/&lt;h&gt;/manifest.json</c> and <c>streams/&lt;h&gt;/segments/&lt;segment object name&gt;</c>,
/// where h is the lowercase hex of the first 16 bytes of SHA-256 of the UTF-8 stream name. A segment
/// object name is <c>&lt;first position:D16&gt;-&lt;token:x16&gt;.seg</c> (format 2, chosen at seal time)
/// or, for segments written before format 2, <c>&lt;index:D16&gt;.seg</c>.
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

    public const string ForkReferencesDirectoryName = "forks";
    public const string ForkReferenceExtension = ".json";

    /// <summary>
    /// The prefix, ending in '/', of the fork reference markers of a stream (cluster mode): one object
    /// per fork that reads it, see <see cref="ForkReferences"/>.
    /// </summary>
    public static string ForkReferencesPrefix(string sourceName) =>
        StreamDirectory(sourceName) + ForkReferencesDirectoryName + "/";

    /// <summary>The marker saying that <paramref name="forkName"/> reads <paramref name="sourceName"/>.</summary>
    public static string ForkReferenceKey(string sourceName, string forkName) =>
        ForkReferencesPrefix(sourceName) + StreamHash(forkName) + ForkReferenceExtension;

    /// <summary>The prefix, ending in '/', under which one stream's segments live.</summary>
    public static string SegmentsPrefix(string streamName) =>
        StreamDirectory(streamName) + SegmentsDirectoryName + "/";

    // A segment object name never holds a path separator or a dot-only component, so it can name a
    // file in the local segment directory as well; the bound keeps a hostile manifest from naming
    // something absurd.
    private const int MaxSegmentObjectNameLength = 100;

    /// <summary>The format-1 key of segment <paramref name="segmentIndex"/>: the key of a manifest entry without an object name.</summary>
    public static string SegmentKey(string streamName, long segmentIndex) =>
        SegmentsPrefix(streamName) + LegacySegmentObjectName(segmentIndex);

    /// <summary>The key of the segment object called <paramref name="objectName"/> (see <see cref="NewSegmentObjectName"/>).</summary>
    public static string SegmentKey(string streamName, string objectName)
    {
        if (!IsValidSegmentObjectName(objectName))
        {
            throw new ArgumentException($"'{objectName}' is not a segment object name", nameof(objectName));
        }

        return SegmentsPrefix(streamName) + objectName;
    }

    /// <summary>The object name format 1 gives segment <paramref name="segmentIndex"/>: <c>&lt;index:D16&gt;.seg</c>.</summary>
    public static string LegacySegmentObjectName(long segmentIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(segmentIndex);
        return segmentIndex.ToString(SegmentIndexFormat, CultureInfo.InvariantCulture) + SegmentExtension;
    }

    /// <summary>
    /// A fresh name for a segment starting at <paramref name="firstPosition"/>:
    /// <c>&lt;firstPosition:D16&gt;-&lt;64 random bits as 16 hex&gt;.seg</c>. The random part makes the key one
    /// that no other writer (another node, a later incarnation of the name, a compaction of the same
    /// range) can choose, so an object, once listed by a manifest, is never overwritten; the position
    /// first keeps a listing in stream order.
    /// </summary>
    public static string NewSegmentObjectName(long firstPosition)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstPosition);
        Span<byte> random = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(random);
        return firstPosition.ToString(SegmentIndexFormat, CultureInfo.InvariantCulture)
            + "-"
            + BinaryPrimitives.ReadUInt64LittleEndian(random).ToString("x16", CultureInfo.InvariantCulture)
            + SegmentExtension;
    }

    /// <summary>
    /// True for a name a segment object may have: ASCII letters, digits, '-', '_' and '.', ending in
    /// <c>.seg</c>, not starting with a dot, at most 100 characters. A manifest naming anything else is rejected.
    /// </summary>
    public static bool IsValidSegmentObjectName(string? objectName)
    {
        if (objectName is null
            || objectName.Length <= SegmentExtension.Length
            || objectName.Length > MaxSegmentObjectNameLength
            || objectName[0] == '.'
            || !objectName.EndsWith(SegmentExtension, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in objectName)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
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
