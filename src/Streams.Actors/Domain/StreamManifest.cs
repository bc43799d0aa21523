using System.Text.Json;
using System.Text.Json.Serialization;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Domain;

/// <summary>
/// Everything needed to rebuild a stream's local index without any other request: its
/// configuration, closure, producers, epochs and the segments holding its published records.
/// One per stream, overwritten on every publish; <see cref="Generation"/> only grows.
/// </summary>
public sealed record StreamManifest
{
    /// <summary>
    /// 2: segment entries may name their object (<see cref="ManifestSegments.ObjectNames"/>). A version-1
    /// manifest is read as one whose entries name none; a version-1 reader refuses version 2 rather than
    /// fetch the wrong objects.
    /// </summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>The oldest format this reader still reads.</summary>
    public const int OldestReadableFormatVersion = 1;

    [JsonPropertyName("format_version")]
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("generation")]
    public long Generation { get; init; }

    /// <summary>
    /// The writer id of the data directory that published this manifest; absent in manifests
    /// written before fencing. Lets a node recognise its own publish (see docs/storage-format.md).
    /// </summary>
    [JsonPropertyName("writer")]
    public string? Writer { get; init; }

    [JsonPropertyName("content_type")]
    public required string ContentType { get; init; }

    [JsonPropertyName("created_at_ms")]
    public long CreatedAtMs { get; init; }

    [JsonPropertyName("updated_at_ms")]
    public long UpdatedAtMs { get; init; }

    [JsonPropertyName("ttl_seconds")]
    public long? TtlSeconds { get; init; }

    [JsonPropertyName("expires_at_ms")]
    public long? ExpiresAtMs { get; init; }

    /// <summary>Closed, and every record up to the final offset is in the listed segments.</summary>
    [JsonPropertyName("closed")]
    public bool Closed { get; init; }

    [JsonPropertyName("closed_by")]
    public ManifestProducer? ClosedBy { get; init; }

    /// <summary>A tombstone: the stream was deleted; a lazy read answers 404.</summary>
    [JsonPropertyName("deleted")]
    public bool Deleted { get; init; }

    /// <summary>The name of the stream this one was forked from; absent for a stream that is not a fork.</summary>
    /// <summary>Deleted while forks still read through it: restored as soft-deleted (410), not as live.</summary>
    [JsonPropertyName("soft_deleted")]
    public bool SoftDeleted { get; init; }

    [JsonPropertyName("fork_parent")]
    public string? ForkParent { get; init; }

    /// <summary>
    /// A fork's first own position: positions below it are the parent's records, and the fork's
    /// own segments start here rather than at 0.
    /// </summary>
    [JsonPropertyName("fork_position")]
    public long? ForkPosition { get; init; }

    /// <summary>The Stream-Fork-Sub-Offset the fork was created with, when it was not 0.</summary>
    [JsonPropertyName("fork_sub_offset")]
    public long? ForkSubOffset { get; init; }

    /// <summary>The position the first listed segment starts at: the fork position, else 0.</summary>
    [JsonIgnore]
    public long FirstSegmentPosition => ForkPosition ?? 0;

    /// <summary>Producer states as of <see cref="NextPosition"/>, so dedupe survives a restore.</summary>
    [JsonPropertyName("producers")]
    public IReadOnlyList<ManifestProducer> Producers { get; init; } = [];

    [JsonPropertyName("stream_seq")]
    public string? StreamSeq { get; init; }

    /// <summary>Number of records published: the position after the last segment's last record.</summary>
    [JsonPropertyName("next_position")]
    public long NextPosition { get; init; }

    [JsonPropertyName("epochs")]
    public IReadOnlyList<ManifestEpoch> Epochs { get; init; } = [];

    /// <summary>
    /// True only when the writer stopped after publishing everything it ever acknowledged. When
    /// false, the next owner opens a new epoch because a tail may have been lost.
    /// </summary>
    [JsonPropertyName("drained_clean")]
    public bool DrainedClean { get; init; }

    [JsonPropertyName("segments")]
    public ManifestSegments Segments { get; init; } = ManifestSegments.Empty;

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ManifestJsonContext.Default.StreamManifest);

    /// <summary>Parses and checks a manifest; throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static StreamManifest Parse(ReadOnlySpan<byte> json)
    {
        StreamManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ManifestJsonContext.Default.StreamManifest);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException($"manifest is not valid JSON: {exception.Message}", exception);
        }

        if (manifest is null)
        {
            throw new InvalidDataException("manifest is empty");
        }

        manifest.Validate();
        return manifest;
    }

    private void Validate()
    {
        if (FormatVersion is < OldestReadableFormatVersion or > CurrentFormatVersion)
        {
            throw new InvalidDataException($"manifest format {FormatVersion} is not supported");
        }

        var segments = Segments;
        if (segments.RecordCounts.Count != segments.ByteSizes.Count || segments.RecordCounts.Count != segments.Checksums.Count)
        {
            throw new InvalidDataException("manifest segment arrays differ in length");
        }

        if (segments.ObjectNames is { } names)
        {
            if (names.Count != segments.Count)
            {
                throw new InvalidDataException("manifest segment arrays differ in length");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var index = 0; index < names.Count; index++)
            {
                // Checked here, before any key or local path is built from it: a name with a path in it
                // could reach outside the stream's directory.
                if (names[index] is { } name && !ObjectStoreKeys.IsValidSegmentObjectName(name))
                {
                    throw new InvalidDataException($"manifest segment {index} has an invalid object name");
                }

                if (!seen.Add(segments.ObjectNameAt(index)))
                {
                    throw new InvalidDataException($"manifest lists the object of segment {index} twice");
                }
            }
        }

        if (ForkPosition is < 0 || (ForkPosition is not null && ForkParent is null))
        {
            throw new InvalidDataException("manifest has a fork position without a valid fork parent");
        }

        long total = 0;
        foreach (var count in segments.RecordCounts)
        {
            if (count <= 0)
            {
                throw new InvalidDataException("manifest lists an empty segment");
            }

            total += count;
        }

        // A fork's own segments start at its fork position, so they hold next_position minus that.
        if (total != NextPosition - FirstSegmentPosition)
        {
            throw new InvalidDataException(
                $"manifest segments hold {total} records from position {FirstSegmentPosition} but next_position is {NextPosition}");
        }
    }
}

public sealed record ManifestProducer(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("epoch")] long Epoch,
    [property: JsonPropertyName("seq")] long Seq);

public sealed record ManifestEpoch(
    [property: JsonPropertyName("epoch")] long Epoch,
    [property: JsonPropertyName("start")] long Start);

/// <summary>
/// The segment list, kept compact as parallel arrays: segment i starts where segment i-1 ended
/// (segment 0 at the manifest's <see cref="StreamManifest.FirstSegmentPosition"/>: 0, or a fork's
/// fork position), so only counts, sizes, checksums and object names are stored.
/// </summary>
public sealed record ManifestSegments
{
    public static ManifestSegments Empty => new();

    [JsonPropertyName("record_counts")]
    public IReadOnlyList<long> RecordCounts { get; init; } = [];

    [JsonPropertyName("byte_sizes")]
    public IReadOnlyList<long> ByteSizes { get; init; } = [];

    [JsonPropertyName("checksums")]
    public IReadOnlyList<string> Checksums { get; init; } = [];

    /// <summary>
    /// The name of each segment's object under <c>streams/&lt;h&gt;/segments/</c>; a null entry (or no
    /// array at all, as in every format-1 manifest) means the format-1 name of the entry's index,
    /// <c>&lt;i:D16&gt;.seg</c>. Omitted when every entry would be null.
    /// </summary>
    [JsonPropertyName("object_names")]
    public IReadOnlyList<string?>? ObjectNames { get; init; }

    [JsonIgnore]
    public int Count => RecordCounts.Count;

    /// <summary>The object name of entry <paramref name="index"/>: the recorded one, else its format-1 name.</summary>
    public string ObjectNameAt(int index) =>
        ObjectNames?[index] ?? ObjectStoreKeys.LegacySegmentObjectName(index);

    /// <summary>
    /// The <see cref="ObjectNames"/> array for segments stored under <paramref name="storedNames"/>, in
    /// list order: null where the name is the format-1 name of its entry's index, and no array at all
    /// when that holds for every entry (the manifest then lists them exactly as format 1 did).
    /// </summary>
    public static IReadOnlyList<string?>? CompactObjectNames(IReadOnlyList<string> storedNames)
    {
        var names = new string?[storedNames.Count];
        var any = false;
        for (var index = 0; index < storedNames.Count; index++)
        {
            if (storedNames[index] != ObjectStoreKeys.LegacySegmentObjectName(index))
            {
                names[index] = storedNames[index];
                any = true;
            }
        }

        return any ? names : null;
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StreamManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
