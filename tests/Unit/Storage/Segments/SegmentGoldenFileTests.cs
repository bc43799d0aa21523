using Streams.Actors.Storage.Segments;
using Xunit;

namespace Streams.Tests.Unit.Storage.Segments;

/// <summary>
/// Segment files are durable: a file written by an earlier version must stay readable. These bytes
/// are the worked example in docs/storage-format.md.
/// </summary>
public sealed class SegmentGoldenFileTests
{
    private const string ExampleSegmentHex =
        "535345470100000012500cfd0100000000000000000000000e0000001700000028b52ffd200e710000e803000000"
        + "0000000200000068690100000000000000000000000800000000000000010000000e00000017000000370000000000"
        + "000020000000468c8f3800000000000000000100000000000000f829abd447455353";

    private const long ExampleTimestampMs = 1000;

    // Fails only if the format changed incompatibly.
    [Fact]
    public void Should_decode_the_documented_example_when_reading_version_1_bytes()
    {
        var reader = new SegmentReader(Convert.FromHexString(ExampleSegmentHex), "storage-format.md example");

        var record = Assert.Single(reader.ReadAll());
        Assert.Equal(0, record.Position);
        Assert.Equal(ExampleTimestampMs, record.TimestampMs);
        Assert.Equal("hi"u8.ToArray(), record.Payload.ToArray());
        Assert.Equal(1, reader.BlockCount);
    }

    // Keeps the documented example current. A zstd library upgrade may legitimately change the frame
    // bytes; then refresh the example in the docs, and keep the old bytes in the decode test above.
    [Fact]
    public void Should_reproduce_the_documented_example_when_encoding_with_default_options()
    {
        var bytes = new SegmentWriter().Encode([new SegmentRecord(0, ExampleTimestampMs, "hi"u8.ToArray())]);

        Assert.Equal(ExampleSegmentHex, Convert.ToHexStringLower(bytes));
    }
}
