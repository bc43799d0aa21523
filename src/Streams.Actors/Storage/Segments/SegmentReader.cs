using System.Buffers;
using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using ZstdSharp;

namespace Streams.Actors.Storage.Segments;

/// <summary>
/// Reads records from a segment file, given as the bytes of the whole file or as a local path
/// (<see cref="OpenFile"/>: only the header, trailer and footer are read up front, and each read
/// takes from the file just the blocks it needs). Opening validates the header, trailer and footer;
/// each read decodes only the blocks it needs and verifies every one of them (CRC-32C and lengths)
/// before returning any of its bytes. Immutable, so safe for concurrent use.
/// </summary>
/// <remarks>
/// Returned payloads are slices of per-block buffers the reader allocates; they never alias the
/// segment bytes passed in and stay valid after the reader is gone. A block is verified and decoded
/// once per reader: later reads of it slice the same (never modified) buffer, so a reader kept in a
/// cache serves repeated reads without decompressing or checksumming again.
/// </remarks>
public sealed class SegmentReader
{
    private const string UnnamedSegment = "(unnamed)";

    private readonly ReadOnlyMemory<byte> _segment;

    /// <summary>The local file blocks are read from when the reader was not given the whole file's bytes.</summary>
    private readonly string? _path;

    private readonly SegmentBlockInfo[] _blocks;

    /// <summary>Blocks already verified and decompressed, by block index; filled on first use.</summary>
    private readonly byte[]?[] _decodedBlocks;

    /// <param name="segment">The whole file.</param>
    /// <param name="segmentName">A path or object key, used only in error messages.</param>
    /// <exception cref="SegmentCorruptException">The file structure does not validate.</exception>
    public SegmentReader(ReadOnlyMemory<byte> segment, string segmentName = UnnamedSegment)
    {
        ArgumentNullException.ThrowIfNull(segmentName);
        _segment = segment;
        SegmentName = segmentName;

        var bytes = segment.Span;
        CheckLength(bytes.Length);
        ValidateFileHeader(bytes);
        var (footerOffset, footerLength, footerCrc, firstPosition, recordCount) = ReadTrailer(bytes[^SegmentFormat.TrailerLength..], bytes.Length);
        _blocks = ReadFooter(bytes.Slice((int)footerOffset, footerLength), footerOffset, footerCrc, firstPosition, recordCount);
        _decodedBlocks = new byte[_blocks.Length][];
        FirstPosition = firstPosition;
        RecordCount = recordCount;
        FooterOffset = footerOffset;
        FileLength = bytes.Length;
    }

    private SegmentReader(string path, SafeFileHandle file, long fileLength, string segmentName)
    {
        _path = path;
        SegmentName = segmentName;
        CheckLength(fileLength);

        Span<byte> header = stackalloc byte[SegmentFormat.FileHeaderLength];
        ReadExactly(file, header, 0);
        ValidateFileHeader(header);
        Span<byte> trailer = stackalloc byte[SegmentFormat.TrailerLength];
        ReadExactly(file, trailer, fileLength - SegmentFormat.TrailerLength);
        var (footerOffset, footerLength, footerCrc, firstPosition, recordCount) = ReadTrailer(trailer, fileLength);
        var footer = new byte[footerLength];
        ReadExactly(file, footer, footerOffset);
        _blocks = ReadFooter(footer, footerOffset, footerCrc, firstPosition, recordCount);
        _decodedBlocks = new byte[_blocks.Length][];
        FirstPosition = firstPosition;
        RecordCount = recordCount;
        FooterOffset = footerOffset;
        FileLength = fileLength;
    }

    /// <summary>
    /// A reader over a local segment file that reads only what it needs: the header, trailer and
    /// footer now, each block the first time a read needs it. A cold read of part of a segment
    /// then reads and verifies that part, not the whole file, and nothing holds the file's bytes.
    /// Null when the file's length is not <paramref name="expectedLength"/> (not the file the
    /// caller's index describes).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file is not there.</exception>
    /// <exception cref="DirectoryNotFoundException">Its directory is not there.</exception>
    /// <exception cref="SegmentCorruptException">The file structure does not validate.</exception>
    public static SegmentReader? OpenFile(string path, long expectedLength, string segmentName = UnnamedSegment)
    {
        ArgumentNullException.ThrowIfNull(segmentName);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.RandomAccess);
        var length = RandomAccess.GetLength(file);
        return length == expectedLength ? new SegmentReader(path, file, length, segmentName) : null;
    }

    public string SegmentName { get; }

    public long FirstPosition { get; }

    /// <summary>Number of records, at least one.</summary>
    public long RecordCount { get; }

    public long LastPosition => FirstPosition + RecordCount - 1;

    public int BlockCount => _blocks.Length;

    internal IReadOnlyList<SegmentBlockInfo> Blocks => _blocks;

    internal long FooterOffset { get; }

    internal long FileLength { get; }

    /// <summary>True when blocks are read from a local file as they are needed (<see cref="OpenFile"/>).</summary>
    public bool ReadsFromFile => _path is not null;

    /// <summary>
    /// What the reader holds at most once all its blocks were read: every block decompressed, plus
    /// the file's bytes when it was given them.
    /// </summary>
    public long MaxRetainedBytes => _segment.Length + _blocks.Sum(block => (long)block.UncompressedLength);

    /// <summary>
    /// Records from <paramref name="position"/> on, in order. Records are added while the payload
    /// total is below <paramref name="maxBytes"/>, so the last one may take it past the limit; the
    /// first is always returned. Empty when <paramref name="position"/> is past
    /// <see cref="LastPosition"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="position"/> is before <see cref="FirstPosition"/>, or
    /// <paramref name="maxBytes"/> is negative.
    /// </exception>
    /// <exception cref="SegmentCorruptException">A block that had to be read does not verify.</exception>
    public IReadOnlyList<SegmentRecord> ReadFrom(long position, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(position, FirstPosition);
        if (position > LastPosition)
        {
            return [];
        }

        var result = new List<SegmentRecord>();
        var budget = new ReadBudget(maxBytes);
        Decompressor? decompressor = null;
        SafeFileHandle? file = null;
        try
        {
            for (var blockIndex = FindBlock(position); blockIndex < _blocks.Length && !budget.IsSpent(result); blockIndex++)
            {
                var uncompressed = _decodedBlocks[blockIndex] ?? Decode(blockIndex, decompressor ??= new Decompressor(), ref file);
                SliceRecords(blockIndex, uncompressed, position, result, ref budget);
            }
        }
        finally
        {
            decompressor?.Dispose();
            file?.Dispose();
        }

        return result;
    }

    /// <summary>Every record, verifying every block.</summary>
    /// <exception cref="SegmentCorruptException">Any block does not verify.</exception>
    public IReadOnlyList<SegmentRecord> ReadAll() => ReadFrom(FirstPosition, long.MaxValue);

    /// <summary>The last block whose first position is at or before <paramref name="position"/>.</summary>
    private int FindBlock(long position)
    {
        var low = 0;
        var high = _blocks.Length - 1;
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            if (_blocks[middle].FirstPosition <= position)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    /// <summary>
    /// Verifies block <paramref name="blockIndex"/> (CRC-32C, lengths, and the framing of every record
    /// in it) and decompresses it, once; concurrent first reads may both decode, and either result is
    /// kept (they are equal). The whole block is checked even when a read needs only part of it, so a
    /// bad block never yields a partial answer.
    /// </summary>
    private byte[] Decode(int blockIndex, Decompressor decompressor, ref SafeFileHandle? file)
    {
        var block = _blocks[blockIndex];
        if (_path is null)
        {
            // The footer validation guaranteed this range lies inside the file.
            return Decode(blockIndex, block, _segment.Span.Slice((int)block.FileOffset, SegmentFormat.BlockHeaderLength + block.CompressedLength), decompressor);
        }

        // The block's bytes are needed only until it is verified and decompressed: a pooled buffer.
        var length = SegmentFormat.BlockHeaderLength + block.CompressedLength;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            file ??= OpenForBlocks(_path);
            ReadExactly(file, buffer.AsSpan(0, length), block.FileOffset);
            return Decode(blockIndex, block, buffer.AsSpan(0, length), decompressor);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Decode(int blockIndex, SegmentBlockInfo block, ReadOnlySpan<byte> blockBytes, Decompressor decompressor)
    {
        var compressed = VerifyBlock(blockIndex, block, blockBytes);

        // Every byte is overwritten by the decompressor (checked below), so no zeroing is needed.
        var uncompressed = GC.AllocateUninitializedArray<byte>(block.UncompressedLength);
        int written;
        try
        {
            written = decompressor.Unwrap(compressed, uncompressed);
        }
        catch (ZstdException exception)
        {
            throw Corrupt(blockIndex, $"zstd could not decompress it ({exception.Message})", exception);
        }

        if (written != block.UncompressedLength)
        {
            throw Corrupt(blockIndex, $"it decompressed to {written} bytes, the header says {block.UncompressedLength}");
        }

        var offset = 0;
        for (var i = 0; i < block.RecordCount; i++)
        {
            var remaining = uncompressed.Length - offset;
            if (remaining < SegmentFormat.RecordHeaderLength)
            {
                throw Corrupt(blockIndex, $"record {i} of {block.RecordCount} is cut off at byte {offset}");
            }

            var payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(uncompressed.AsSpan(offset + SegmentFormat.RecordPayloadLengthOffset));
            if (payloadLength > remaining - SegmentFormat.RecordHeaderLength)
            {
                throw Corrupt(blockIndex, $"record {i} claims {payloadLength} payload bytes but only {remaining - SegmentFormat.RecordHeaderLength} remain");
            }

            offset += SegmentFormat.RecordHeaderLength + (int)payloadLength;
        }

        if (offset != uncompressed.Length)
        {
            throw Corrupt(blockIndex, $"{uncompressed.Length - offset} bytes follow the last record");
        }

        Volatile.Write(ref _decodedBlocks[blockIndex], uncompressed);
        return uncompressed;
    }

    /// <summary>Appends the records of a verified block at or after <paramref name="fromPosition"/> while the budget lasts.</summary>
    private void SliceRecords(int blockIndex, byte[] uncompressed, long fromPosition, List<SegmentRecord> result, ref ReadBudget budget)
    {
        var block = _blocks[blockIndex];
        var offset = 0;
        for (var i = 0; i < block.RecordCount && !budget.IsSpent(result); i++)
        {
            var header = uncompressed.AsSpan(offset, SegmentFormat.RecordHeaderLength);
            var payloadLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[SegmentFormat.RecordPayloadLengthOffset..]);
            var payloadOffset = offset + SegmentFormat.RecordHeaderLength;
            var position = block.FirstPosition + i;
            if (position >= fromPosition)
            {
                var timestampMs = BinaryPrimitives.ReadInt64LittleEndian(header[SegmentFormat.RecordTimestampOffset..]);
                result.Add(new SegmentRecord(position, timestampMs, new ReadOnlyMemory<byte>(uncompressed, payloadOffset, payloadLength)));
                budget.Spend(payloadLength);
            }

            offset = payloadOffset + payloadLength;
        }
    }

    /// <summary>
    /// Checks the block header against its footer entry and the CRC-32C over header and body;
    /// returns the compressed bytes only when both hold.
    /// </summary>
    private ReadOnlySpan<byte> VerifyBlock(int blockIndex, SegmentBlockInfo block, ReadOnlySpan<byte> bytes)
    {
        var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes[SegmentFormat.BlockCrcOffset..]);
        var computedCrc = Crc32C.Compute(bytes[SegmentFormat.BlockCrcCoverageOffset..]);
        if (storedCrc != computedCrc)
        {
            throw Corrupt(blockIndex, $"CRC-32C mismatch at file offset {block.FileOffset} (stored 0x{storedCrc:X8}, computed 0x{computedCrc:X8})");
        }

        var recordCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[SegmentFormat.BlockRecordCountOffset..]);
        var firstPosition = BinaryPrimitives.ReadInt64LittleEndian(bytes[SegmentFormat.BlockFirstPositionOffset..]);
        var uncompressedLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[SegmentFormat.BlockUncompressedLengthOffset..]);
        var compressedLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[SegmentFormat.BlockCompressedLengthOffset..]);
        if (recordCount != block.RecordCount
            || firstPosition != block.FirstPosition
            || uncompressedLength != block.UncompressedLength
            || compressedLength != block.CompressedLength)
        {
            throw Corrupt(
                blockIndex,
                $"header (records {recordCount}, first position {firstPosition}, lengths {uncompressedLength}/{compressedLength}) "
                + $"disagrees with the footer (records {block.RecordCount}, first position {block.FirstPosition}, lengths {block.UncompressedLength}/{block.CompressedLength})");
        }

        return bytes[SegmentFormat.BlockHeaderLength..];
    }

    private void CheckLength(long fileLength)
    {
        if (fileLength < SegmentFormat.MinimumFileLength)
        {
            throw Corrupt($"length {fileLength} is below the minimum {SegmentFormat.MinimumFileLength}");
        }
    }

    /// <summary>
    /// The file again, for a read that needs blocks not yet decoded. Gone since the reader was opened
    /// (the disk cache removed it, or a compaction replaced it): <see cref="SegmentMissingException"/>,
    /// so that the caller opens the segment anew (downloaded, or its replacement).
    /// </summary>
    private static SafeFileHandle OpenForBlocks(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.RandomAccess);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SegmentMissingException(path);
        }
    }

    private void ReadExactly(SafeFileHandle file, Span<byte> destination, long fileOffset)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = RandomAccess.Read(file, destination[total..], fileOffset + total);
            if (read == 0)
            {
                throw Corrupt($"the file ends at {fileOffset + total}, inside a range its footer or trailer names");
            }

            total += read;
        }
    }

    private void ValidateFileHeader(ReadOnlySpan<byte> bytes)
    {
        if (!bytes[..SegmentFormat.MagicLength].SequenceEqual(SegmentFormat.FileMagic))
        {
            throw Corrupt("the file header magic is wrong");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[SegmentFormat.FileHeaderVersionOffset..]);
        if (version != SegmentFormat.FormatVersion)
        {
            throw Corrupt($"format version {version} is not supported (this reader knows {SegmentFormat.FormatVersion})");
        }

        var reserved = BinaryPrimitives.ReadUInt16LittleEndian(bytes[SegmentFormat.FileHeaderReservedOffset..]);
        if (reserved != 0)
        {
            throw Corrupt($"the file header's reserved field is 0x{reserved:X4}, not zero");
        }
    }

    private (long FooterOffset, int FooterLength, uint FooterCrc, long FirstPosition, long RecordCount) ReadTrailer(ReadOnlySpan<byte> trailer, long fileLength)
    {
        if (!trailer[SegmentFormat.TrailerMagicOffset..].SequenceEqual(SegmentFormat.TrailerMagic))
        {
            throw Corrupt("the trailer magic is wrong (truncated or not a segment file)");
        }

        var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer[SegmentFormat.TrailerCrcOffset..]);
        var computedCrc = Crc32C.Compute(trailer[..SegmentFormat.TrailerCrcOffset]);
        if (storedCrc != computedCrc)
        {
            throw Corrupt($"trailer CRC-32C mismatch (stored 0x{storedCrc:X8}, computed 0x{computedCrc:X8})");
        }

        var footerOffset = BinaryPrimitives.ReadInt64LittleEndian(trailer[SegmentFormat.TrailerFooterOffsetOffset..]);
        var footerLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer[SegmentFormat.TrailerFooterLengthOffset..]);
        var footerCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer[SegmentFormat.TrailerFooterCrcOffset..]);
        var firstPosition = BinaryPrimitives.ReadInt64LittleEndian(trailer[SegmentFormat.TrailerFirstPositionOffset..]);
        var recordCount = BinaryPrimitives.ReadInt64LittleEndian(trailer[SegmentFormat.TrailerRecordCountOffset..]);

        var trailerOffset = fileLength - SegmentFormat.TrailerLength;
        if (footerOffset < SegmentFormat.FileHeaderLength + SegmentFormat.BlockHeaderLength
            || footerLength > int.MaxValue
            || footerOffset + footerLength != trailerOffset)
        {
            throw Corrupt($"the trailer places the footer at offset {footerOffset}, length {footerLength}, which does not end at the trailer (offset {trailerOffset})");
        }

        if (firstPosition < 0 || recordCount < 1 || firstPosition > long.MaxValue - recordCount)
        {
            throw Corrupt($"the trailer's first position {firstPosition} and record count {recordCount} are out of range");
        }

        return (footerOffset, (int)footerLength, footerCrc, firstPosition, recordCount);
    }

    private SegmentBlockInfo[] ReadFooter(
        ReadOnlySpan<byte> footer,
        long footerOffset,
        uint footerCrc,
        long firstPosition,
        long recordCount)
    {
        var footerLength = footer.Length;
        var computedCrc = Crc32C.Compute(footer);
        if (computedCrc != footerCrc)
        {
            throw Corrupt($"footer CRC-32C mismatch (trailer says 0x{footerCrc:X8}, computed 0x{computedCrc:X8})");
        }

        var blockCount = BinaryPrimitives.ReadUInt32LittleEndian(footer);
        if (blockCount < 1 || SegmentFormat.FooterLength((int)Math.Min(blockCount, int.MaxValue)) != footerLength)
        {
            throw Corrupt($"the footer lists {blockCount} blocks but is {footerLength} bytes long");
        }

        var blocks = new SegmentBlockInfo[blockCount];
        var expectedOffset = (long)SegmentFormat.FileHeaderLength;
        var expectedPosition = firstPosition;
        var entry = footer[SegmentFormat.FooterBlockCountLength..];
        for (var i = 0; i < blocks.Length; i++)
        {
            var block = ReadEntry(i, entry);
            if (block.FileOffset != expectedOffset || block.FirstPosition != expectedPosition)
            {
                throw Corrupt(i, $"the footer places it at offset {block.FileOffset}, first position {block.FirstPosition}; expected offset {expectedOffset}, first position {expectedPosition}");
            }

            // Checked before advancing so that neither sum below can overflow.
            if (block.EndOffset > footerOffset || block.RecordCount > firstPosition + recordCount - expectedPosition)
            {
                throw Corrupt(i, $"the footer entry runs past the blocks area or the segment's {recordCount} records");
            }

            blocks[i] = block;
            expectedOffset = block.EndOffset;
            expectedPosition += block.RecordCount;
            entry = entry[SegmentFormat.FooterEntryLength..];
        }

        if (expectedOffset != footerOffset || expectedPosition != firstPosition + recordCount)
        {
            throw Corrupt($"the blocks end at offset {expectedOffset} after {expectedPosition - firstPosition} records; the trailer says offset {footerOffset}, {recordCount} records");
        }

        return blocks;
    }

    private SegmentBlockInfo ReadEntry(int blockIndex, ReadOnlySpan<byte> entry)
    {
        var firstPosition = BinaryPrimitives.ReadInt64LittleEndian(entry[SegmentFormat.EntryFirstPositionOffset..]);
        var fileOffset = BinaryPrimitives.ReadInt64LittleEndian(entry[SegmentFormat.EntryFileOffsetOffset..]);
        var recordCount = BinaryPrimitives.ReadUInt32LittleEndian(entry[SegmentFormat.EntryRecordCountOffset..]);
        var uncompressedLength = BinaryPrimitives.ReadUInt32LittleEndian(entry[SegmentFormat.EntryUncompressedLengthOffset..]);
        var compressedLength = BinaryPrimitives.ReadUInt32LittleEndian(entry[SegmentFormat.EntryCompressedLengthOffset..]);

        // Every record takes at least its header, which also bounds the record count.
        if (recordCount < 1
            || uncompressedLength > SegmentFormat.MaxBlockUncompressedLength
            || (ulong)recordCount * SegmentFormat.RecordHeaderLength > uncompressedLength
            || compressedLength > int.MaxValue - SegmentFormat.BlockHeaderLength)
        {
            throw Corrupt(blockIndex, $"the footer entry has impossible sizes: {recordCount} records, lengths {uncompressedLength}/{compressedLength}");
        }

        return new SegmentBlockInfo(firstPosition, fileOffset, (int)recordCount, (int)uncompressedLength, (int)compressedLength);
    }

    private SegmentCorruptException Corrupt(string detail) => new(SegmentName, blockIndex: null, detail);

    private SegmentCorruptException Corrupt(int blockIndex, string detail, Exception? innerException = null) =>
        new(SegmentName, blockIndex, detail, innerException);

    /// <summary>
    /// The running payload total of a read: spent once it reaches the limit, but never before the
    /// first record, so every read that can return something does.
    /// </summary>
    private struct ReadBudget(long maxBytes)
    {
        private long _spent;

        public readonly bool IsSpent(List<SegmentRecord> result) => result.Count > 0 && _spent >= maxBytes;

        public void Spend(long bytes) => _spent += bytes;
    }
}
