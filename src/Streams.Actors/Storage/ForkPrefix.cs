namespace Streams.Actors.Storage;

/// <summary>
/// What a <c>Stream-Fork-Sub-Offset</c> cuts out of the append unit that starts at the fork position:
/// the first N bytes of that record (byte streams, one record per append), or the first N messages of
/// that append (JSON, one record per flattened message). The cut-out part becomes the fork's first own
/// records; everything before the fork position stays shared.
/// </summary>
public static class ForkPrefix
{
    /// <summary>The outcome: the records to materialise, or why the sub-offset is not acceptable.</summary>
    public sealed record Result(IReadOnlyList<byte[]>? Records, string? Problem);

    /// <param name="committedEnd">The source's committed tail; the unit never reaches past it.</param>
    public static async Task<Result> MaterialiseAsync(
        IRecordReader reader,
        StreamDatabase database,
        StreamLineage lineage,
        bool isJson,
        long forkPosition,
        long committedEnd,
        long subOffset,
        CancellationToken cancellationToken)
    {
        if (forkPosition >= committedEnd)
        {
            return new Result(null, "Stream-Fork-Sub-Offset needs data after the fork offset, and there is none");
        }

        if (isJson)
        {
            var unit = await JsonUnitLengthAsync(reader, database, lineage, forkPosition, committedEnd, cancellationToken);
            if (subOffset > unit)
            {
                return new Result(null, $"Stream-Fork-Sub-Offset {subOffset} is beyond the {unit} messages of the append at the fork offset");
            }

            var messages = await lineage.ReadAsync(reader, forkPosition, forkPosition + subOffset, long.MaxValue, cancellationToken);
            return new Result([.. messages.Select(message => message.Payload.ToArray())], null);
        }

        var records = await lineage.ReadAsync(reader, forkPosition, forkPosition + 1, long.MaxValue, cancellationToken);
        var payload = records[0].Payload;
        if (subOffset > payload.Length)
        {
            return new Result(null, $"Stream-Fork-Sub-Offset {subOffset} is beyond the {payload.Length} bytes of the append at the fork offset");
        }

        return new Result([payload[..(int)subOffset].ToArray()], null);
    }

    /// <summary>
    /// Messages from <paramref name="position"/> to the end of the append covering it, as the stream
    /// serving that position recorded it, cut at the end of that stream's range in this lineage.
    /// </summary>
    private static async Task<long> JsonUnitLengthAsync(
        IRecordReader reader,
        StreamDatabase database,
        StreamLineage lineage,
        long position,
        long committedEnd,
        CancellationToken cancellationToken)
    {
        var (entry, rangeEnd) = lineage.Serving(position);
        var unitEnd = await AppendEndAsync(reader, database, entry, position, cancellationToken);
        return Math.Min(unitEnd, Math.Min(rangeEnd, committedEnd)) - position;
    }

    /// <summary>
    /// Where the append covering <paramref name="position"/> ends, as the stream of
    /// <paramref name="entry"/> recorded it; a remote entry (a cluster fork's source) is asked.
    /// </summary>
    public static async Task<long> AppendEndAsync(
        IRecordReader reader,
        StreamDatabase database,
        LineageEntry entry,
        long position,
        CancellationToken cancellationToken)
    {
        if (entry.IsRemote && reader is ForkAwareRecordReader forkAware)
        {
            return await forkAware.Remote.AppendEndAsync(entry.Name, position, cancellationToken);
        }

        return database.FindAppendBatch(entry.StreamId, position) is { } batch
            ? batch.FirstPosition + batch.RecordCount
            : position + 1;
    }
}
