using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// Cluster mode: a fork's reads below its fork position, asked of its source's owner through the
/// shard region (<see cref="ReadForkRange"/>), whichever node that owner is on, in answers of at most
/// <paramref name="pageBytes"/> record bytes so that each fits one remoting frame. A source that is
/// moving is asked again after <paramref name="retryPause"/>, until <paramref name="askTimeout"/>.
/// Thread-safe: it holds only the region's reference and settings.
/// </summary>
public sealed class ClusterForkSourceReader(IActorRef router, TimeSpan askTimeout, TimeSpan retryPause, long pageBytes) : IForkSourceReader
{
    public async Task<List<StoredRecord>> ReadAsync(
        string sourceName,
        long fromPosition,
        long toPosition,
        long maxBytes,
        CancellationToken cancellationToken)
    {
        var records = new List<StoredRecord>();
        long bytes = 0;
        var position = fromPosition;
        while (position < toPosition && (records.Count == 0 || bytes < maxBytes))
        {
            var remaining = records.Count == 0 ? maxBytes : maxBytes - bytes;
            var budget = Math.Max(1, Math.Min(pageBytes, remaining));
            var answer = await AskAsync<ForkRangeRead>(
                new ReadForkRange(sourceName, position, toPosition, budget, SkipBytes: 0),
                cancellationToken);
            if (answer.PartialRecordLength > 0)
            {
                // One record larger than a page: collected piece by piece, if the budget takes it.
                if (records.Count > 0 && bytes + answer.PartialRecordLength > maxBytes)
                {
                    return records;
                }

                var whole = await ReadLargeRecordAsync(sourceName, position, answer, cancellationToken);
                records.Add(new StoredRecord(position, 0, whole));
                bytes += whole.Length;
                position++;
                continue;
            }

            if (answer.Records.Count == 0)
            {
                throw new InvalidOperationException($"the fork source '{sourceName}' answered no record at position {position}");
            }

            foreach (var payload in answer.Records)
            {
                if (records.Count > 0 && bytes + payload.Length > maxBytes)
                {
                    return records;
                }

                records.Add(new StoredRecord(position, 0, payload));
                bytes += payload.Length;
                position++;
            }

            if (budget == remaining && position < toPosition)
            {
                // The source stopped at this read's own budget, not a page's: the next record does not fit.
                return records;
            }
        }

        return records;
    }

    public async Task<long> AppendEndAsync(string sourceName, long position, CancellationToken cancellationToken) =>
        (await AskAsync<ForkAppendEndFound>(new FindForkAppendEnd(sourceName, position), cancellationToken)).EndPosition;

    private async Task<byte[]> ReadLargeRecordAsync(string sourceName, long position, ForkRangeRead first, CancellationToken cancellationToken)
    {
        var whole = new byte[first.PartialRecordLength];
        var filled = Copy(first, whole, 0);
        while (filled < whole.Length)
        {
            var piece = await AskAsync<ForkRangeRead>(
                new ReadForkRange(sourceName, position, position + 1, pageBytes, SkipBytes: filled),
                cancellationToken);
            if (piece.PartialRecordLength != whole.Length || piece.Records.Count != 1 || piece.Records[0].Length == 0)
            {
                throw new InvalidOperationException($"the fork source '{sourceName}' answered an inconsistent piece of the record at position {position}");
            }

            filled = Copy(piece, whole, filled);
        }

        return whole;
    }

    private static int Copy(ForkRangeRead piece, byte[] whole, int offset)
    {
        var bytes = piece.Records[0];
        if (offset + bytes.Length > whole.Length)
        {
            throw new InvalidOperationException("a piece of a record runs past the record's length");
        }

        bytes.CopyTo(whole, offset);
        return offset + bytes.Length;
    }

    /// <summary>Asks the source's owner; "moving" is retried, any other rejection fails the read.</summary>
    private async Task<T> AskAsync<T>(object question, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + askTimeout;
        while (true)
        {
            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException("the fork's source did not answer in time");
            }

            var answer = await router.Ask<object>(question, remaining, cancellationToken);
            switch (answer)
            {
                case T expected:
                    return expected;
                case StreamRejected { Code: ErrorCode.StreamMoving }:
                    // The source is between two owners: its next owner answers once it has hydrated.
                    await Task.Delay(retryPause, cancellationToken);
                    break;
                case StreamRejected rejected:
                    throw new ForkSourceUnavailableException(rejected.Message);
                default:
                    throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} from the fork's source");
            }
        }
    }
}

/// <summary>The source of a cluster fork refused a read (it is gone, or failed to read).</summary>
public sealed class ForkSourceUnavailableException(string message) : Exception(message);
