using Streams.Actors.Storage.Segments;
using Xunit;
using static Streams.Tests.Unit.Storage.Segments.SegmentTestData;

namespace Streams.Tests.Unit.Storage.Segments;

public sealed class SegmentWriterTests
{
    private static readonly byte[] Payload = [1, 2, 3];

    [Fact]
    public void Should_reject_records_when_a_position_is_skipped()
    {
        SegmentRecord[] records = [new(0, 0, Payload), new(1, 0, Payload), new(3, 0, Payload)];

        var exception = Assert.Throws<ArgumentException>(() => new SegmentWriter().Encode(records));
        Assert.Contains("contiguous", exception.Message);
    }

    [Fact]
    public void Should_reject_records_when_a_position_repeats()
    {
        SegmentRecord[] records = [new(5, 0, Payload), new(5, 0, Payload)];

        Assert.Throws<ArgumentException>(() => new SegmentWriter().Encode(records));
    }

    [Fact]
    public void Should_reject_records_when_positions_descend()
    {
        SegmentRecord[] records = [new(5, 0, Payload), new(4, 0, Payload)];

        Assert.Throws<ArgumentException>(() => new SegmentWriter().Encode(records));
    }

    [Fact]
    public void Should_reject_records_when_the_list_is_empty()
    {
        Assert.Throws<ArgumentException>(() => new SegmentWriter().Encode([]));
    }

    [Fact]
    public void Should_reject_records_when_the_first_position_is_negative()
    {
        SegmentRecord[] records = [new(-1, 0, Payload)];

        Assert.Throws<ArgumentException>(() => new SegmentWriter().Encode(records));
    }

    [Fact]
    public void Should_reject_records_when_the_next_position_would_overflow()
    {
        SegmentRecord[] records = [new(long.MaxValue - 1, 0, Payload), new(long.MaxValue, 0, Payload)];

        Assert.Throws<ArgumentException>(() => new SegmentWriter().Encode(records));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(SegmentFormat.MaxBlockUncompressedLength + 1)]
    public void Should_reject_options_when_the_target_block_size_is_out_of_range(int targetBlockBytes)
    {
        Assert.ThrowsAny<ArgumentException>(() => new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = targetBlockBytes }));
    }

    [Fact]
    public void Should_reject_options_when_the_compression_level_is_out_of_range()
    {
        Assert.ThrowsAny<ArgumentException>(() => new SegmentWriter(new SegmentWriterOptions { CompressionLevel = 1000 }));
    }

    [Fact]
    public void Should_decode_identically_when_written_at_another_compression_level()
    {
        var records = Records(firstPosition: 0, count: 100, payloadLength: 64);
        var fast = new SegmentWriter(new SegmentWriterOptions { CompressionLevel = 1 });
        var strong = new SegmentWriter(new SegmentWriterOptions { CompressionLevel = 19 });

        AssertRecordsEqual(records, new SegmentReader(fast.Encode(records)).ReadAll());
        AssertRecordsEqual(records, new SegmentReader(strong.Encode(records)).ReadAll());
    }

    [Fact]
    public void Should_use_64_KiB_blocks_when_options_are_default()
    {
        Assert.Equal(64 * 1024, new SegmentWriter().Options.TargetBlockBytes);
    }
}
