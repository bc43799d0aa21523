using System.Text;
using Streams.Actors.Storage.Segments;

namespace Streams.Tests.Property.Segments;

/// <summary>
/// One generated input for the segment properties: records at contiguous positions from
/// <see cref="FirstPosition"/>, and the block size to encode them with.
/// </summary>
public sealed record SegmentCase(long FirstPosition, int TargetBlockBytes, IReadOnlyList<GeneratedRecord> Records)
{
    private const int PayloadBytesShown = 8;

    public long LastPosition => FirstPosition + Records.Count - 1;

    public IReadOnlyList<SegmentRecord> ToSegmentRecords() =>
        Records.Select((record, i) => new SegmentRecord(FirstPosition + i, record.TimestampMs, record.Payload)).ToList();

    public byte[] Encode() =>
        new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = TargetBlockBytes }).Encode(ToSegmentRecords());

    /// <summary>Short enough to read in a failure report: lengths and the first few payload bytes.</summary>
    public override string ToString()
    {
        var text = new StringBuilder($"SegmentCase(first {FirstPosition}, target block {TargetBlockBytes} B, {Records.Count} records:");
        for (var i = 0; i < Records.Count; i++)
        {
            var payload = Records[i].Payload;
            var shown = Convert.ToHexString(payload.AsSpan(0, Math.Min(payload.Length, PayloadBytesShown)));
            var ellipsis = payload.Length > PayloadBytesShown ? "…" : string.Empty;
            text.Append($" [{FirstPosition + i}: ts {Records[i].TimestampMs}, {payload.Length} B {shown}{ellipsis}]");
        }

        return text.Append(')').ToString();
    }
}

/// <summary>A record before it is given a position.</summary>
public sealed record GeneratedRecord(long TimestampMs, byte[] Payload);
