using System.Buffers.Binary;
using Streams.Actors.Storage.Segments;
using Xunit;
using static Streams.Tests.Unit.Storage.Segments.SegmentTestData;

namespace Streams.Tests.Unit.Storage.Segments;

public sealed class SegmentCorruptionTests
{
    private const string SegmentName = "streams/abc/segments/0000000000000003.seg";
    private const int SmallBlockBytes = 2048;

    private readonly List<SegmentRecord> _records;
    private readonly byte[] _bytes;
    private readonly SegmentReader _intact;

    public SegmentCorruptionTests()
    {
        _records = Records(firstPosition: 40, count: 200, payloadLength: i => 10 + (i % 90));
        _bytes = new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = SmallBlockBytes }).Encode(_records);
        _intact = new SegmentReader(_bytes, SegmentName);
        Assert.True(_intact.BlockCount >= 3, $"the tests need several blocks, got {_intact.BlockCount}");
    }

    [Fact]
    public void Should_throw_when_a_byte_in_a_block_body_is_flipped()
    {
        var block = _intact.Blocks[1];
        foreach (var offset in new[] { 0, block.CompressedLength / 2, block.CompressedLength - 1 })
        {
            var damaged = (byte[])_bytes.Clone();
            damaged[block.FileOffset + SegmentFormat.BlockHeaderLength + offset] ^= 0x01;

            var reader = new SegmentReader(damaged, SegmentName);

            var exception = Assert.Throws<SegmentCorruptException>(() => reader.ReadFrom(block.FirstPosition, long.MaxValue));
            Assert.Equal(1, exception.BlockIndex);
            Assert.Throws<SegmentCorruptException>(() => reader.ReadAll());
        }
    }

    [Fact]
    public void Should_throw_when_any_byte_of_a_block_header_is_flipped()
    {
        var block = _intact.Blocks[2];
        for (var offset = 0; offset < SegmentFormat.BlockHeaderLength; offset++)
        {
            var damaged = (byte[])_bytes.Clone();
            damaged[block.FileOffset + offset] ^= 0x80;

            var reader = new SegmentReader(damaged, SegmentName);

            var exception = Assert.Throws<SegmentCorruptException>(() => reader.ReadFrom(block.FirstPosition, maxBytes: 1));
            Assert.Equal(2, exception.BlockIndex);
        }
    }

    [Fact]
    public void Should_throw_when_opening_and_any_byte_of_the_footer_is_flipped()
    {
        var footerLength = _bytes.Length - SegmentFormat.TrailerLength - _intact.FooterOffset;
        for (var offset = 0; offset < footerLength; offset++)
        {
            var damaged = (byte[])_bytes.Clone();
            damaged[_intact.FooterOffset + offset] ^= 0x10;

            Assert.Throws<SegmentCorruptException>(() => new SegmentReader(damaged, SegmentName));
        }
    }

    [Fact]
    public void Should_throw_when_opening_and_any_byte_of_the_trailer_is_flipped()
    {
        for (var offset = _bytes.Length - SegmentFormat.TrailerLength; offset < _bytes.Length; offset++)
        {
            var damaged = (byte[])_bytes.Clone();
            damaged[offset] ^= 0x04;

            Assert.Throws<SegmentCorruptException>(() => new SegmentReader(damaged, SegmentName));
        }
    }

    [Fact]
    public void Should_throw_when_opening_and_any_byte_of_the_file_header_is_flipped()
    {
        for (var offset = 0; offset < SegmentFormat.FileHeaderLength; offset++)
        {
            var damaged = (byte[])_bytes.Clone();
            damaged[offset] ^= 0x02;

            Assert.Throws<SegmentCorruptException>(() => new SegmentReader(damaged, SegmentName));
        }
    }

    [Fact]
    public void Should_throw_when_opening_a_truncated_file()
    {
        var lengths = new[]
        {
            0,
            1,
            SegmentFormat.MinimumFileLength - 1,
            _bytes.Length / 2,
            _bytes.Length - SegmentFormat.TrailerLength,
            _bytes.Length - 1,
        };
        foreach (var length in lengths)
        {
            Assert.Throws<SegmentCorruptException>(() => new SegmentReader(_bytes.AsMemory(0, length), SegmentName));
        }
    }

    [Fact]
    public void Should_throw_when_opening_a_file_with_bytes_appended()
    {
        var extended = _bytes.Concat(new byte[] { 0 }).ToArray();

        Assert.Throws<SegmentCorruptException>(() => new SegmentReader(extended, SegmentName));
    }

    [Fact]
    public void Should_throw_when_opening_bytes_that_are_not_a_segment()
    {
        var text = System.Text.Encoding.UTF8.GetBytes(new string('x', 4096));

        Assert.Throws<SegmentCorruptException>(() => new SegmentReader(text, SegmentName));
    }

    [Fact]
    public void Should_detect_every_single_bit_flip_when_reading_a_small_segment()
    {
        var records = Records(firstPosition: 3, count: 4, payloadLength: i => i * 5);
        var bytes = new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = 16 }).Encode(records);

        for (long bit = 0; bit < bytes.Length * 8L; bit++)
        {
            var damaged = FlipBit(bytes, bit);

            var thrown = Record.Exception(() => new SegmentReader(damaged).ReadAll());

            Assert.True(thrown is SegmentCorruptException, $"bit {bit}: {thrown?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void Should_name_the_segment_and_the_block_when_a_block_is_corrupt()
    {
        var block = _intact.Blocks[1];
        var damaged = (byte[])_bytes.Clone();
        damaged[block.FileOffset + SegmentFormat.BlockHeaderLength] ^= 0xFF;

        var exception = Assert.Throws<SegmentCorruptException>(() => new SegmentReader(damaged, SegmentName).ReadAll());

        Assert.Equal(SegmentName, exception.SegmentName);
        Assert.Contains(SegmentName, exception.Message);
        Assert.Contains("block 1", exception.Message);
    }

    [Fact]
    public void Should_throw_when_a_block_header_disagrees_with_the_footer_despite_valid_checksums()
    {
        var block = _intact.Blocks[1];
        var damaged = (byte[])_bytes.Clone();
        var header = damaged.AsSpan((int)block.FileOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(header[SegmentFormat.BlockRecordCountOffset..], (uint)block.RecordCount - 1);
        ResealChecksums(damaged);

        var reader = new SegmentReader(damaged, SegmentName);

        var exception = Assert.Throws<SegmentCorruptException>(() => reader.ReadFrom(block.FirstPosition, maxBytes: 1));
        Assert.Contains("disagrees with the footer", exception.Message);
    }

    [Fact]
    public void Should_throw_when_the_decompressed_length_differs_from_the_header_despite_valid_checksums()
    {
        var block = _intact.Blocks[0];
        var damaged = (byte[])_bytes.Clone();
        var longer = (uint)block.UncompressedLength + 1;
        BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan((int)block.FileOffset + SegmentFormat.BlockUncompressedLengthOffset), longer);
        var entry = (int)_intact.FooterOffset + SegmentFormat.FooterBlockCountLength;
        BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan(entry + SegmentFormat.EntryUncompressedLengthOffset), longer);
        ResealChecksums(damaged);

        var reader = new SegmentReader(damaged, SegmentName);

        var exception = Assert.Throws<SegmentCorruptException>(() => reader.ReadAll());
        Assert.Contains("decompressed to", exception.Message);
    }

    [Fact]
    public void Should_throw_when_the_trailer_record_count_disagrees_with_the_footer_despite_valid_checksums()
    {
        var damaged = (byte[])_bytes.Clone();
        var trailer = damaged.AsSpan(damaged.Length - SegmentFormat.TrailerLength);
        BinaryPrimitives.WriteInt64LittleEndian(trailer[SegmentFormat.TrailerRecordCountOffset..], _intact.RecordCount + 1);
        ResealChecksums(damaged);

        Assert.Throws<SegmentCorruptException>(() => new SegmentReader(damaged, SegmentName));
    }

    [Fact]
    public void Should_throw_when_the_file_version_is_unknown()
    {
        var damaged = (byte[])_bytes.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(damaged.AsSpan(SegmentFormat.FileHeaderVersionOffset), SegmentFormat.FormatVersion + 1);

        var exception = Assert.Throws<SegmentCorruptException>(() => new SegmentReader(damaged, SegmentName));
        Assert.Contains("version", exception.Message);
    }
}
