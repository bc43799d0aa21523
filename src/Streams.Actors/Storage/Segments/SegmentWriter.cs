using System.Buffers;
using System.Buffers.Binary;
using ZstdSharp;

namespace Streams.Actors.Storage.Segments;

/// <summary>
/// Encodes a contiguous run of records into a segment file (layout in <see cref="SegmentFormat"/>
/// and docs/storage-format.md). Stateless apart from its options, so one instance may be shared
/// across threads.
/// </summary>
public sealed class SegmentWriter
{
    private readonly SegmentWriterOptions _options;

    public SegmentWriter()
        : this(SegmentWriterOptions.Default)
    {
    }

    public SegmentWriter(SegmentWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TargetBlockBytes is < 1 or > SegmentFormat.MaxBlockUncompressedLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                options.TargetBlockBytes,
                $"{nameof(SegmentWriterOptions.TargetBlockBytes)} must be between 1 and {SegmentFormat.MaxBlockUncompressedLength}.");
        }

        if (options.CompressionLevel < Compressor.MinCompressionLevel || options.CompressionLevel > Compressor.MaxCompressionLevel)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                options.CompressionLevel,
                $"{nameof(SegmentWriterOptions.CompressionLevel)} must be between {Compressor.MinCompressionLevel} and {Compressor.MaxCompressionLevel}.");
        }

        _options = options;
    }

    public SegmentWriterOptions Options => _options;

    /// <summary>
    /// Encodes <paramref name="records"/> into the bytes of one segment file.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The list is empty, the first position is negative, positions are not contiguous, the
    /// position after the last record would not fit in a <see cref="long"/>, or a payload is
    /// longer than the format allows.
    /// </exception>
    public byte[] Encode(IReadOnlyList<SegmentRecord> records)
    {
        ValidateRecords(records);

        var output = new ArrayBufferWriter<byte>(EstimateFileLength(records));
        WriteFileHeader(output);

        var blocks = new List<SegmentBlockInfo>();
        using var compressor = new Compressor(_options.CompressionLevel);
        byte[]? scratch = null;
        try
        {
            var start = 0;
            while (start < records.Count)
            {
                var (end, uncompressedLength) = CutBlock(records, start);
                if (scratch is null || scratch.Length < uncompressedLength)
                {
                    if (scratch is not null)
                    {
                        ArrayPool<byte>.Shared.Return(scratch);
                    }

                    scratch = ArrayPool<byte>.Shared.Rent(uncompressedLength);
                }

                blocks.Add(WriteBlock(output, compressor, records, start, end, scratch.AsSpan(0, uncompressedLength)));
                start = end;
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }

        var footerOffset = output.WrittenCount;
        var footerCrc = WriteFooter(output, blocks);
        var footerLength = output.WrittenCount - footerOffset;
        WriteTrailer(output, footerOffset, footerLength, footerCrc, records[0].Position, records.Count);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Encodes <paramref name="records"/> and writes them to <paramref name="path"/> atomically and
    /// durably (see <see cref="AtomicFile.Write"/>): when this returns, the complete file is on disk
    /// under its final name; after a crash, either no file or the complete one is there.
    /// </summary>
    public SegmentFileInfo WriteFile(string path, IReadOnlyList<SegmentRecord> records)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Encode(records);
        var fullPath = Path.GetFullPath(path);
        AtomicFile.Write(fullPath, bytes);
        return new SegmentFileInfo(
            fullPath,
            records[0].Position,
            records.Count,
            bytes.LongLength,
            SegmentChecksum.Compute(bytes));
    }

    private static void ValidateRecords(IReadOnlyList<SegmentRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("A segment holds at least one record.", nameof(records));
        }

        var first = records[0].Position;
        if (first < 0)
        {
            throw new ArgumentException($"The first position must not be negative, was {first}.", nameof(records));
        }

        // The reader computes first + count (the next position) so it must be representable.
        if (first > long.MaxValue - records.Count)
        {
            throw new ArgumentException(
                $"The position after the last record would overflow: first {first}, count {records.Count}.",
                nameof(records));
        }

        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            if (record.Position != first + i)
            {
                throw new ArgumentException(
                    $"Positions must be contiguous: record {i} has position {record.Position}, expected {first + i}.",
                    nameof(records));
            }

            if (record.Payload.Length > SegmentFormat.MaxRecordPayloadLength)
            {
                throw new ArgumentException(
                    $"Record {record.Position} has a {record.Payload.Length}-byte payload; the limit is {SegmentFormat.MaxRecordPayloadLength}.",
                    nameof(records));
            }
        }
    }

    /// <summary>
    /// Takes records from <paramref name="start"/> until the next one would take the block past
    /// the target; always takes at least one.
    /// </summary>
    private (int End, int UncompressedLength) CutBlock(IReadOnlyList<SegmentRecord> records, int start)
    {
        long length = SegmentFormat.RecordHeaderLength + records[start].Payload.Length;
        var end = start + 1;
        while (end < records.Count)
        {
            var next = SegmentFormat.RecordHeaderLength + records[end].Payload.Length;
            if (length + next > _options.TargetBlockBytes)
            {
                break;
            }

            length += next;
            end++;
        }

        // Cannot exceed the maximum: each record fits and the target is at most the maximum.
        return (end, checked((int)length));
    }

    private static SegmentBlockInfo WriteBlock(
        ArrayBufferWriter<byte> output,
        Compressor compressor,
        IReadOnlyList<SegmentRecord> records,
        int start,
        int end,
        Span<byte> uncompressed)
    {
        var cursor = uncompressed;
        for (var i = start; i < end; i++)
        {
            var payload = records[i].Payload.Span;
            BinaryPrimitives.WriteInt64LittleEndian(cursor[SegmentFormat.RecordTimestampOffset..], records[i].TimestampMs);
            BinaryPrimitives.WriteUInt32LittleEndian(cursor[SegmentFormat.RecordPayloadLengthOffset..], (uint)payload.Length);
            payload.CopyTo(cursor[SegmentFormat.RecordHeaderLength..]);
            cursor = cursor[(SegmentFormat.RecordHeaderLength + payload.Length)..];
        }

        var fileOffset = output.WrittenCount;
        var bound = Compressor.GetCompressBound(uncompressed.Length);
        var block = output.GetSpan(SegmentFormat.BlockHeaderLength + bound);
        var compressedLength = compressor.Wrap(uncompressed, block[SegmentFormat.BlockHeaderLength..]);
        var recordCount = end - start;
        var firstPosition = records[start].Position;

        BinaryPrimitives.WriteUInt32LittleEndian(block[SegmentFormat.BlockRecordCountOffset..], (uint)recordCount);
        BinaryPrimitives.WriteInt64LittleEndian(block[SegmentFormat.BlockFirstPositionOffset..], firstPosition);
        BinaryPrimitives.WriteUInt32LittleEndian(block[SegmentFormat.BlockUncompressedLengthOffset..], (uint)uncompressed.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(block[SegmentFormat.BlockCompressedLengthOffset..], (uint)compressedLength);
        var blockLength = SegmentFormat.BlockHeaderLength + compressedLength;
        var crc = Crc32C.Compute(block[SegmentFormat.BlockCrcCoverageOffset..blockLength]);
        BinaryPrimitives.WriteUInt32LittleEndian(block[SegmentFormat.BlockCrcOffset..], crc);
        output.Advance(blockLength);

        return new SegmentBlockInfo(firstPosition, fileOffset, recordCount, uncompressed.Length, compressedLength);
    }

    private static void WriteFileHeader(ArrayBufferWriter<byte> output)
    {
        var header = output.GetSpan(SegmentFormat.FileHeaderLength)[..SegmentFormat.FileHeaderLength];
        SegmentFormat.FileMagic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[SegmentFormat.FileHeaderVersionOffset..], SegmentFormat.FormatVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(header[SegmentFormat.FileHeaderReservedOffset..], 0);
        output.Advance(SegmentFormat.FileHeaderLength);
    }

    private static uint WriteFooter(ArrayBufferWriter<byte> output, List<SegmentBlockInfo> blocks)
    {
        var length = checked((int)SegmentFormat.FooterLength(blocks.Count));
        var footer = output.GetSpan(length)[..length];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, (uint)blocks.Count);
        var entry = footer[SegmentFormat.FooterBlockCountLength..];
        foreach (var block in blocks)
        {
            BinaryPrimitives.WriteInt64LittleEndian(entry[SegmentFormat.EntryFirstPositionOffset..], block.FirstPosition);
            BinaryPrimitives.WriteInt64LittleEndian(entry[SegmentFormat.EntryFileOffsetOffset..], block.FileOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[SegmentFormat.EntryRecordCountOffset..], (uint)block.RecordCount);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[SegmentFormat.EntryUncompressedLengthOffset..], (uint)block.UncompressedLength);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[SegmentFormat.EntryCompressedLengthOffset..], (uint)block.CompressedLength);
            entry = entry[SegmentFormat.FooterEntryLength..];
        }

        var crc = Crc32C.Compute(footer);
        output.Advance(length);
        return crc;
    }

    private static void WriteTrailer(
        ArrayBufferWriter<byte> output,
        long footerOffset,
        long footerLength,
        uint footerCrc,
        long firstPosition,
        long recordCount)
    {
        var trailer = output.GetSpan(SegmentFormat.TrailerLength)[..SegmentFormat.TrailerLength];
        BinaryPrimitives.WriteInt64LittleEndian(trailer[SegmentFormat.TrailerFooterOffsetOffset..], footerOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[SegmentFormat.TrailerFooterLengthOffset..], checked((uint)footerLength));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[SegmentFormat.TrailerFooterCrcOffset..], footerCrc);
        BinaryPrimitives.WriteInt64LittleEndian(trailer[SegmentFormat.TrailerFirstPositionOffset..], firstPosition);
        BinaryPrimitives.WriteInt64LittleEndian(trailer[SegmentFormat.TrailerRecordCountOffset..], recordCount);
        var crc = Crc32C.Compute(trailer[..SegmentFormat.TrailerCrcOffset]);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[SegmentFormat.TrailerCrcOffset..], crc);
        SegmentFormat.TrailerMagic.CopyTo(trailer[SegmentFormat.TrailerMagicOffset..]);
        output.Advance(SegmentFormat.TrailerLength);
    }

    /// <summary>
    /// Initial buffer size: the uncompressed size plus framing, which compressed output rarely
    /// exceeds, so the buffer seldom has to grow.
    /// </summary>
    private static int EstimateFileLength(IReadOnlyList<SegmentRecord> records)
    {
        long length = SegmentFormat.MinimumFileLength;
        for (var i = 0; i < records.Count; i++)
        {
            length += SegmentFormat.RecordHeaderLength + records[i].Payload.Length;
        }

        return (int)Math.Min(length, Array.MaxLength);
    }
}
