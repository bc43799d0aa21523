using System.Buffers.Binary;
using Streams.Actors.Storage.Segments;
using Xunit;

namespace Streams.Tests.Unit.Storage.Segments;

/// <summary>Record builders, assertions and byte surgery shared by the segment tests.</summary>
internal static class SegmentTestData
{
    private const int Seed = 20240601;
    private const long BaseTimestampMs = 1_700_000_000_000;

    /// <summary>Records at contiguous positions with seeded pseudo-random payloads.</summary>
    public static List<SegmentRecord> Records(long firstPosition, int count, Func<int, int> payloadLength)
    {
        var random = new Random(Seed);
        var records = new List<SegmentRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var payload = new byte[payloadLength(i)];
            random.NextBytes(payload);
            records.Add(new SegmentRecord(firstPosition + i, BaseTimestampMs + i, payload));
        }

        return records;
    }

    public static List<SegmentRecord> Records(long firstPosition, int count, int payloadLength) =>
        Records(firstPosition, count, _ => payloadLength);

    public static void AssertRecordsEqual(IReadOnlyList<SegmentRecord> expected, IReadOnlyList<SegmentRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Position, actual[i].Position);
            Assert.Equal(expected[i].TimestampMs, actual[i].TimestampMs);
            Assert.True(
                expected[i].Payload.Span.SequenceEqual(actual[i].Payload.Span),
                $"payload of position {expected[i].Position} differs");
        }
    }

    /// <summary>The model answer for <see cref="SegmentReader.ReadFrom"/>.</summary>
    public static List<SegmentRecord> ExpectedReadFrom(IReadOnlyList<SegmentRecord> records, long position, long maxBytes)
    {
        var result = new List<SegmentRecord>();
        long total = 0;
        foreach (var record in records.Where(r => r.Position >= position))
        {
            if (result.Count > 0 && total >= maxBytes)
            {
                break;
            }

            result.Add(record);
            total += record.Payload.Length;
        }

        return result;
    }

    public static byte[] FlipBit(byte[] bytes, long bitIndex)
    {
        var copy = (byte[])bytes.Clone();
        copy[bitIndex / 8] ^= (byte)(1 << (int)(bitIndex % 8));
        return copy;
    }

    /// <summary>
    /// Recomputes every checksum in the file (block, footer, trailer) after a test has changed
    /// other fields, so a test can show the reader's length and structure checks work on their own.
    /// </summary>
    public static void ResealChecksums(byte[] bytes)
    {
        var trailer = bytes.AsSpan(bytes.Length - SegmentFormat.TrailerLength);
        var footerOffset = (int)BinaryPrimitives.ReadInt64LittleEndian(trailer[SegmentFormat.TrailerFooterOffsetOffset..]);
        var footerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(trailer[SegmentFormat.TrailerFooterLengthOffset..]);
        var footer = bytes.AsSpan(footerOffset, footerLength);
        var blockCount = (int)BinaryPrimitives.ReadUInt32LittleEndian(footer);
        for (var i = 0; i < blockCount; i++)
        {
            var entry = footer.Slice(SegmentFormat.FooterBlockCountLength + (i * SegmentFormat.FooterEntryLength), SegmentFormat.FooterEntryLength);
            var offset = (int)BinaryPrimitives.ReadInt64LittleEndian(entry[SegmentFormat.EntryFileOffsetOffset..]);
            var block = bytes.AsSpan(offset);
            var compressedLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(block[SegmentFormat.BlockCompressedLengthOffset..]);
            var covered = block[SegmentFormat.BlockCrcCoverageOffset..(SegmentFormat.BlockHeaderLength + compressedLength)];
            BinaryPrimitives.WriteUInt32LittleEndian(block[SegmentFormat.BlockCrcOffset..], Crc32C.Compute(covered));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(trailer[SegmentFormat.TrailerFooterCrcOffset..], Crc32C.Compute(footer));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[SegmentFormat.TrailerCrcOffset..], Crc32C.Compute(trailer[..SegmentFormat.TrailerCrcOffset]));
    }
}
