namespace Streams.Actors.Storage.Segments;

/// <summary>
/// The byte layout of a segment file, version 1. docs/storage-format.md ("Segment files") is the
/// specification; this class is its one transcription into code, shared by writer and reader.
/// Every integer is little-endian and fixed-width.
/// </summary>
/// <remarks>
/// <code>
/// file    = file header | block+ | footer | trailer
/// header  = magic "SSEG" | version u16 | reserved u16 (0)                                8 bytes
/// block   = crc32c u32 | recordCount u32 | firstPosition i64 | uncompressedLength u32
///           | compressedLength u32 | zstd frame of compressedLength bytes             24 + n bytes
///           crc32c covers bytes 4..end of the block (rest of the header + the frame)
/// record  = timestampMs i64 | payloadLength u32 | payload                               12 + n bytes
/// footer  = blockCount u32 | blockCount × entry                                         4 + 28·n bytes
/// entry   = firstPosition i64 | fileOffset i64 | recordCount u32
///           | uncompressedLength u32 | compressedLength u32                             28 bytes
/// trailer = footerOffset i64 | footerLength u32 | footerCrc32c u32 | firstPosition i64
///           | recordCount i64 | trailerCrc32c u32 (over bytes 0..31) | magic "GESS"     40 bytes
/// </code>
/// </remarks>
internal static class SegmentFormat
{
    public const ushort FormatVersion = 1;

    public const int MagicLength = 4;

    /// <summary>First bytes of every segment file ("Streams SEGment").</summary>
    public static ReadOnlySpan<byte> FileMagic => "SSEG"u8;

    /// <summary>Last bytes of every segment file: the file magic reversed, marking the end.</summary>
    public static ReadOnlySpan<byte> TrailerMagic => "GESS"u8;

    // File header.
    public const int FileHeaderLength = 8;
    public const int FileHeaderVersionOffset = 4;
    public const int FileHeaderReservedOffset = 6;

    // Block header. The CRC comes first so that what it covers is one contiguous range.
    public const int BlockHeaderLength = 24;
    public const int BlockCrcOffset = 0;
    public const int BlockCrcCoverageOffset = 4;
    public const int BlockRecordCountOffset = 4;
    public const int BlockFirstPositionOffset = 8;
    public const int BlockUncompressedLengthOffset = 16;
    public const int BlockCompressedLengthOffset = 20;

    // Record, inside a block's uncompressed bytes.
    public const int RecordHeaderLength = 12;
    public const int RecordTimestampOffset = 0;
    public const int RecordPayloadLengthOffset = 8;

    // Footer.
    public const int FooterBlockCountLength = 4;
    public const int FooterEntryLength = 28;
    public const int EntryFirstPositionOffset = 0;
    public const int EntryFileOffsetOffset = 8;
    public const int EntryRecordCountOffset = 16;
    public const int EntryUncompressedLengthOffset = 20;
    public const int EntryCompressedLengthOffset = 24;

    // Trailer, the last bytes of the file, found without any other information.
    public const int TrailerLength = 40;
    public const int TrailerFooterOffsetOffset = 0;
    public const int TrailerFooterLengthOffset = 8;
    public const int TrailerFooterCrcOffset = 12;
    public const int TrailerFirstPositionOffset = 16;
    public const int TrailerRecordCountOffset = 24;
    public const int TrailerCrcOffset = 32;
    public const int TrailerMagicOffset = 36;

    /// <summary>
    /// Upper bound on a block's uncompressed length. It keeps every length within a signed 32-bit
    /// integer even after zstd's worst-case expansion, and stops a damaged length from asking the
    /// reader for an absurd allocation. A single record's payload may be at most this minus
    /// <see cref="RecordHeaderLength"/>.
    /// </summary>
    public const int MaxBlockUncompressedLength = 1 << 30;

    public const int MaxRecordPayloadLength = MaxBlockUncompressedLength - RecordHeaderLength;

    /// <summary>A lower bound on any well-formed file: header, one block header, a one-entry footer, trailer.</summary>
    public const int MinimumFileLength =
        FileHeaderLength + BlockHeaderLength + FooterBlockCountLength + FooterEntryLength + TrailerLength;

    public static long FooterLength(int blockCount) =>
        FooterBlockCountLength + (long)FooterEntryLength * blockCount;
}
