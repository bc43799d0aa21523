namespace Streams.Actors.Storage.Segments;

/// <summary>
/// Tuning for <see cref="SegmentWriter"/>. Neither value changes the format: a reader decodes any
/// combination.
/// </summary>
public sealed record SegmentWriterOptions
{
    /// <summary>
    /// 64 KiB: small enough that a read of one record decompresses little, large enough for zstd
    /// to find redundancy across records and for the footer to stay small.
    /// </summary>
    public const int DefaultTargetBlockBytes = 64 * 1024;

    /// <summary>zstd's own default level: a good ratio at a speed far above disk and network.</summary>
    public const int DefaultCompressionLevel = 3;

    public static SegmentWriterOptions Default { get; } = new();

    /// <summary>
    /// A block is cut before the record that would take its uncompressed length (record headers
    /// included) past this. A record larger than the target gets a block of its own.
    /// </summary>
    public int TargetBlockBytes { get; init; } = DefaultTargetBlockBytes;

    /// <summary>zstd compression level.</summary>
    public int CompressionLevel { get; init; } = DefaultCompressionLevel;
}
