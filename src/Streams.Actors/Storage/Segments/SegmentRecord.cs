namespace Streams.Actors.Storage.Segments;

/// <summary>
/// One record of a stream as stored in a segment file.
/// </summary>
/// <param name="Position">0-based record number in the stream.</param>
/// <param name="TimestampMs">Append time, milliseconds since the Unix epoch.</param>
/// <param name="Payload">The record's bytes, possibly empty.</param>
/// <remarks>
/// Equality compares <see cref="Payload"/> by reference (the <see cref="ReadOnlyMemory{T}"/>
/// default), so compare payload contents with <c>Payload.Span.SequenceEqual(...)</c>.
/// </remarks>
public readonly record struct SegmentRecord(long Position, long TimestampMs, ReadOnlyMemory<byte> Payload);
