using Streams.Actors.Storage.Segments;
using Xunit;
using static Streams.Tests.Unit.Storage.Segments.SegmentTestData;

namespace Streams.Tests.Unit.Storage.Segments;

public sealed class SegmentReadFromTests
{
    private const long FirstPosition = 500;
    private const int RecordCount = 400;
    private const int SmallBlockBytes = 512;
    private const long Unlimited = long.MaxValue;

    private readonly List<SegmentRecord> _records;
    private readonly byte[] _bytes;
    private readonly SegmentReader _reader;

    public SegmentReadFromTests()
    {
        _records = Records(FirstPosition, RecordCount, payloadLength: i => (i * 37) % 120);
        _bytes = new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = SmallBlockBytes }).Encode(_records);
        _reader = new SegmentReader(_bytes, "read-from-test.seg");
    }

    [Fact]
    public void Should_return_the_suffix_when_reading_from_every_position()
    {
        for (var position = FirstPosition; position <= _reader.LastPosition; position++)
        {
            AssertRecordsEqual(ExpectedReadFrom(_records, position, Unlimited), _reader.ReadFrom(position, Unlimited));
        }
    }

    [Fact]
    public void Should_return_the_suffix_when_reading_from_either_edge_of_every_block()
    {
        Assert.True(_reader.BlockCount > 10, $"expected many blocks, got {_reader.BlockCount}");
        foreach (var block in _reader.Blocks)
        {
            foreach (var position in new[] { block.FirstPosition, block.LastPosition })
            {
                AssertRecordsEqual(ExpectedReadFrom(_records, position, Unlimited), _reader.ReadFrom(position, Unlimited));
                AssertRecordsEqual(ExpectedReadFrom(_records, position, maxBytes: 1), _reader.ReadFrom(position, maxBytes: 1));
            }
        }
    }

    [Fact]
    public void Should_return_nothing_when_position_is_beyond_the_last_record()
    {
        Assert.Empty(_reader.ReadFrom(_reader.LastPosition + 1, Unlimited));
        Assert.Empty(_reader.ReadFrom(long.MaxValue, Unlimited));
    }

    [Fact]
    public void Should_throw_when_position_is_before_the_first_record()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _reader.ReadFrom(FirstPosition - 1, Unlimited));
    }

    [Fact]
    public void Should_throw_when_max_bytes_is_negative()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _reader.ReadFrom(FirstPosition, maxBytes: -1));
    }

    [Fact]
    public void Should_return_exactly_one_record_when_max_bytes_is_zero()
    {
        var read = _reader.ReadFrom(FirstPosition + 3, maxBytes: 0);

        AssertRecordsEqual(_records.GetRange(3, 1), read);
    }

    [Fact]
    public void Should_stop_once_the_payload_total_reaches_max_bytes()
    {
        var records = Records(firstPosition: 0, count: 10, payloadLength: 100);
        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        Assert.Equal(2, reader.ReadFrom(0, maxBytes: 200).Count);
        Assert.Equal(3, reader.ReadFrom(0, maxBytes: 201).Count);
        Assert.Equal(3, reader.ReadFrom(0, maxBytes: 250).Count);
        Assert.Equal(10, reader.ReadFrom(0, maxBytes: 1000).Count);
        Assert.Equal(2, reader.ReadFrom(8, maxBytes: 1000).Count);
    }

    [Fact]
    public void Should_return_the_first_record_when_it_alone_exceeds_max_bytes()
    {
        var records = Records(firstPosition: 0, count: 3, payloadLength: 5000);
        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        AssertRecordsEqual(records.GetRange(1, 1), reader.ReadFrom(1, maxBytes: 10));
    }

    [Fact]
    public void Should_include_empty_payloads_until_max_bytes_is_reached()
    {
        var records = Records(firstPosition: 0, count: 6, payloadLength: i => i == 4 ? 10 : 0);
        var reader = new SegmentReader(new SegmentWriter().Encode(records));

        AssertRecordsEqual(records.GetRange(0, 5), reader.ReadFrom(0, maxBytes: 1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(777)]
    [InlineData(5000)]
    public void Should_return_every_record_once_when_paging_with_max_bytes(long maxBytes)
    {
        var pages = new List<SegmentRecord>();
        var position = FirstPosition;
        while (true)
        {
            var page = _reader.ReadFrom(position, maxBytes);
            if (page.Count == 0)
            {
                break;
            }

            AssertRecordsEqual(ExpectedReadFrom(_records, position, maxBytes), page);
            pages.AddRange(page);
            position = page[^1].Position + 1;
        }

        AssertRecordsEqual(_records, pages);
    }

    [Fact]
    public void Should_not_decode_other_blocks_when_the_requested_records_lie_in_one_block()
    {
        // Corrupt the first and the last block; a read confined to a middle block must not notice.
        var middle = _reader.Blocks[_reader.BlockCount / 2];
        var damaged = (byte[])_bytes.Clone();
        damaged[_reader.Blocks[0].FileOffset + SegmentFormat.BlockHeaderLength] ^= 0xFF;
        damaged[_reader.Blocks[^1].FileOffset + SegmentFormat.BlockHeaderLength] ^= 0xFF;
        var reader = new SegmentReader(damaged);

        var read = reader.ReadFrom(middle.FirstPosition, maxBytes: 1);

        AssertRecordsEqual(ExpectedReadFrom(_records, middle.FirstPosition, maxBytes: 1), read);
        Assert.Throws<SegmentCorruptException>(() => reader.ReadFrom(FirstPosition, maxBytes: 1));
        Assert.Throws<SegmentCorruptException>(() => reader.ReadFrom(reader.LastPosition, maxBytes: 1));
    }
}
