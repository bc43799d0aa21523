using Streams.Actors.Storage.Segments;
using Xunit;
using static Streams.Tests.Unit.Storage.Segments.SegmentTestData;

namespace Streams.Tests.Unit.Storage.Segments;

public sealed class SegmentRoundTripTests
{
    private const int SmallBlockBytes = 1024;
    private static readonly SegmentWriter SmallBlocks = new(new SegmentWriterOptions { TargetBlockBytes = SmallBlockBytes });

    [Fact]
    public void Should_round_trip_when_payloads_are_empty()
    {
        var records = Records(firstPosition: 0, count: 50, payloadLength: 0);

        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        AssertRecordsEqual(records, reader.ReadAll());
    }

    [Fact]
    public void Should_round_trip_when_segment_has_one_record()
    {
        var records = Records(firstPosition: 7, count: 1, payloadLength: 10);

        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        Assert.Equal(7, reader.FirstPosition);
        Assert.Equal(7, reader.LastPosition);
        Assert.Equal(1, reader.RecordCount);
        Assert.Equal(1, reader.BlockCount);
        AssertRecordsEqual(records, reader.ReadAll());
    }

    [Fact]
    public void Should_round_trip_when_records_span_many_blocks()
    {
        var records = Records(firstPosition: 1000, count: 2000, payloadLength: i => i % 300);

        var reader = new SegmentReader(SmallBlocks.Encode(records));

        Assert.True(reader.BlockCount > 100, $"expected many blocks, got {reader.BlockCount}");
        Assert.Equal(1000, reader.FirstPosition);
        Assert.Equal(2999, reader.LastPosition);
        Assert.Equal(2000, reader.RecordCount);
        AssertRecordsEqual(records, reader.ReadAll());
    }

    [Fact]
    public void Should_round_trip_when_a_payload_is_larger_than_the_block_size()
    {
        var records = Records(firstPosition: 0, count: 5, payloadLength: i => i == 2 ? 50 * SmallBlockBytes : 100);

        var reader = new SegmentReader(SmallBlocks.Encode(records));

        Assert.Contains(reader.Blocks, block => block.RecordCount == 1 && block.UncompressedLength > SmallBlockBytes);
        AssertRecordsEqual(records, reader.ReadAll());
    }

    [Fact]
    public void Should_round_trip_when_payloads_hold_every_byte_value()
    {
        var everyByte = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var reversed = everyByte.Reverse().ToArray();
        SegmentRecord[] records =
        [
            new(0, 0, everyByte),
            new(1, -1, reversed),
            new(2, long.MaxValue, new byte[] { 0, 0, 0, 0 }),
            new(3, long.MinValue, new byte[] { 0xFF }),
        ];

        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        AssertRecordsEqual(records, reader.ReadAll());
    }

    [Fact]
    public void Should_round_trip_when_the_last_position_is_just_below_the_maximum()
    {
        const int count = 3;
        var records = Records(firstPosition: long.MaxValue - count, count, payloadLength: 4);

        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        Assert.Equal(long.MaxValue - 1, reader.LastPosition);
        AssertRecordsEqual(records, reader.ReadAll());
    }

    [Fact]
    public void Should_produce_identical_bytes_when_the_same_records_are_encoded_twice()
    {
        var records = Records(firstPosition: 5, count: 300, payloadLength: i => i % 50);

        Assert.Equal(SmallBlocks.Encode(records), SmallBlocks.Encode(records));
    }

    [Fact]
    public void Should_cut_blocks_at_the_target_uncompressed_size_when_records_are_equal_sized()
    {
        const int recordsPerBlock = 10;
        const int encodedRecordLength = 100;
        var payloadLength = encodedRecordLength - SegmentFormat.RecordHeaderLength;
        var writer = new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = recordsPerBlock * encodedRecordLength });
        var records = Records(firstPosition: 0, count: 95, payloadLength);

        var reader = new SegmentReader(writer.Encode(records));

        Assert.Equal(10, reader.BlockCount);
        Assert.All(reader.Blocks.Take(9), block => Assert.Equal(recordsPerBlock, block.RecordCount));
        Assert.Equal(5, reader.Blocks[^1].RecordCount);
        Assert.All(reader.Blocks.Take(9), block => Assert.Equal(recordsPerBlock * encodedRecordLength, block.UncompressedLength));
    }

    [Fact]
    public void Should_compress_when_payloads_are_repetitive()
    {
        var payload = System.Text.Encoding.UTF8.GetBytes("""{"event":"page_view","path":"/home","ok":true}""");
        var records = Enumerable.Range(0, 1000).Select(i => new SegmentRecord(i, i, payload)).ToList();
        var rawLength = records.Sum(r => SegmentFormat.RecordHeaderLength + r.Payload.Length);

        var bytes = new SegmentWriter().Encode(records);

        Assert.True(bytes.Length * 4 < rawLength, $"{bytes.Length} bytes for {rawLength} raw bytes");
    }

    [Fact]
    public void Should_not_alias_the_segment_bytes_when_returning_payloads()
    {
        var records = Records(firstPosition: 0, count: 3, payloadLength: 8);
        var bytes = new SegmentWriter().Encode(records);

        var read = new SegmentReader(bytes).ReadAll();
        Array.Clear(bytes);

        AssertRecordsEqual(records, read);
    }
}
