using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Streams.Actors.Storage.Segments;
using Xunit;

// The test namespace Streams.Tests.Property hides FsCheck's Property type.
using CheckedProperty = FsCheck.Property;

namespace Streams.Tests.Property.Segments;

[Properties(Arbitrary = [typeof(Generators)])]
public sealed class SegmentCodecProperties
{
    private const long Unlimited = long.MaxValue;

    [Property]
    public void Decoding_an_encoded_segment_returns_exactly_the_records(SegmentCase segment)
    {
        var reader = new SegmentReader(segment.Encode());

        Assert.Equal(segment.FirstPosition, reader.FirstPosition);
        Assert.Equal(segment.Records.Count, reader.RecordCount);
        Assert.Equal(segment.LastPosition, reader.LastPosition);
        AssertSameRecords(segment.ToSegmentRecords(), reader.ReadAll());
    }

    [Property]
    public CheckedProperty ReadFrom_returns_the_models_budgeted_prefix_of_the_suffix_at_every_position(SegmentCase segment)
    {
        return Prop.ForAll(MaxBytes().ToArbitrary(), maxBytes =>
        {
            var records = segment.ToSegmentRecords();
            var reader = new SegmentReader(segment.Encode());
            for (var position = segment.FirstPosition; position <= segment.LastPosition; position++)
            {
                AssertSameRecords(Model.ReadFrom(records, position, maxBytes), reader.ReadFrom(position, maxBytes));
            }

            if (segment.LastPosition < long.MaxValue)
            {
                Assert.Empty(reader.ReadFrom(segment.LastPosition + 1, maxBytes));
            }
        });
    }

    [Property]
    public void Blocks_tile_the_segment_and_are_cut_greedily_at_the_target(SegmentCase segment)
    {
        var reader = new SegmentReader(segment.Encode());

        var expectedPosition = segment.FirstPosition;
        foreach (var block in reader.Blocks)
        {
            Assert.Equal(expectedPosition, block.FirstPosition);
            Assert.True(
                block.RecordCount == 1 || block.UncompressedLength <= segment.TargetBlockBytes,
                $"block at {block.FirstPosition} holds {block.RecordCount} records in {block.UncompressedLength} B, target {segment.TargetBlockBytes} B");
            var next = block.LastPosition + 1 - segment.FirstPosition;
            if (next < segment.Records.Count)
            {
                var nextLength = SegmentFormat.RecordHeaderLength + segment.Records[(int)next].Payload.Length;
                Assert.True(
                    block.UncompressedLength + nextLength > segment.TargetBlockBytes,
                    $"block at {block.FirstPosition} was cut although the next record fits");
            }

            expectedPosition += block.RecordCount;
        }

        Assert.Equal(segment.LastPosition + 1, expectedPosition);
    }

    [Property]
    public CheckedProperty A_flipped_bit_is_detected_or_changes_no_record(SegmentCase segment)
    {
        return Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), bitSeed =>
        {
            var bytes = segment.Encode();
            var records = segment.ToSegmentRecords();
            var damaged = FlipBit(bytes, bitSeed % (bytes.Length * 8L));
            var middle = segment.FirstPosition + (segment.Records.Count / 2);

            AssertDetectedOrUnchanged(records, () => new SegmentReader(damaged).ReadAll());
            AssertDetectedOrUnchanged(
                Model.ReadFrom(records, middle, maxBytes: 1),
                () => new SegmentReader(damaged).ReadFrom(middle, maxBytes: 1));
        });
    }

    [Property]
    public CheckedProperty Every_flipped_bit_is_detected_by_a_full_read(SegmentCase segment)
    {
        return Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), bitSeed =>
        {
            var bytes = segment.Encode();
            var damaged = FlipBit(bytes, bitSeed % (bytes.Length * 8L));

            var thrown = Record.Exception(() => new SegmentReader(damaged).ReadAll());

            Assert.True(thrown is SegmentCorruptException, $"expected SegmentCorruptException, got {thrown?.GetType().Name ?? "records"}");
        });
    }

    private static Gen<long> MaxBytes() =>
        Gen.Frequency(
            (1, Gen.Constant(0L)),
            (3, Gen.Choose(1, 2 * Generators.MaxSegmentPayloadBytes).Select(i => (long)i)),
            (1, Gen.Constant(Unlimited)));

    private static byte[] FlipBit(byte[] bytes, long bitIndex)
    {
        var copy = (byte[])bytes.Clone();
        copy[bitIndex / 8] ^= (byte)(1 << (int)(bitIndex % 8));
        return copy;
    }

    private static void AssertDetectedOrUnchanged(IReadOnlyList<SegmentRecord> expected, Func<IReadOnlyList<SegmentRecord>> read)
    {
        IReadOnlyList<SegmentRecord> actual;
        try
        {
            actual = read();
        }
        catch (SegmentCorruptException)
        {
            return;
        }

        AssertSameRecords(expected, actual);
    }

    private static void AssertSameRecords(IReadOnlyList<SegmentRecord> expected, IReadOnlyList<SegmentRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Position, actual[i].Position);
            Assert.Equal(expected[i].TimestampMs, actual[i].TimestampMs);
            Assert.True(expected[i].Payload.Span.SequenceEqual(actual[i].Payload.Span), $"payload at {expected[i].Position} differs");
        }
    }

    /// <summary>The plain-list meaning of a segment read.</summary>
    private static class Model
    {
        public static List<SegmentRecord> ReadFrom(IReadOnlyList<SegmentRecord> records, long position, long maxBytes)
        {
            var result = new List<SegmentRecord>();
            long total = 0;
            foreach (var record in records)
            {
                if (record.Position < position)
                {
                    continue;
                }

                if (result.Count > 0 && total >= maxBytes)
                {
                    break;
                }

                result.Add(record);
                total += record.Payload.Length;
            }

            return result;
        }
    }
}
