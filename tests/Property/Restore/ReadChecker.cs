using System.Collections.Concurrent;
using Streams.Actors.Domain;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;
using static Streams.Tests.Property.Restore.ScheduleRun;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// Reads every stream through its owner from every offset a client could hold and compares each
/// page with the model: from the beginning (<c>-1</c>), the tail (<c>now</c>), every record
/// boundary, and every offset the server ever handed out — those of a tail lost with a node must be
/// refused as lost, never answered with other data.
///
/// Reads from the beginning follow <c>Next</c> page by page until up to date. From every other
/// offset one page is read: the pages a follow from there would fetch next start at boundaries
/// that are themselves read directly, so the follow adds nothing, and a check stays linear in the
/// number of records.
/// </summary>
internal sealed class ReadChecker(EngineNode node, long maxReadBytes)
{
    public Task CheckAsync(IReadOnlyList<StreamModel> models) => Task.WhenAll(models.Select(CheckStreamAsync));

    private async Task CheckStreamAsync(StreamModel model)
    {
        if (model.Presence != Presence.Live)
        {
            var reply = await node.AskAsync(new ReadStream(model.Name, ReadStart.Beginning, null, maxReadBytes));
            ExpectRejection(reply, ErrorCode.StreamNotFound, $"read of {model.Name}, which is {model.Presence}");
            return;
        }

        // Offsets seen during the check; recorded afterwards, once every read has answered.
        var seen = new ConcurrentBag<(Offset Offset, int Position, string Context)>();
        var reads = new List<Task>
        {
            FollowAsync(model, ReadStart.Beginning, 0, seen),
            ReadPageAsync(model, ReadStart.Tail, model.Count, seen),
        };
        for (var position = 0; position <= model.Count; position++)
        {
            reads.Add(ReadPageAsync(model, ReadStart.At(model.OffsetAt(position)), position, seen));
        }

        foreach (var (offset, prefix) in model.HandedOut)
        {
            if (!model.IsCurrentPrefix(prefix))
            {
                reads.Add(ExpectLostAsync(model, offset, prefix, seen));
            }
            else if (offset != model.OffsetAt(offset.Position))
            {
                // An offset of an older epoch that still names a surviving boundary.
                reads.Add(ReadPageAsync(model, ReadStart.At(offset), prefix.Length, seen));
            }
        }

        await Task.WhenAll(reads);
        foreach (var (offset, position, context) in seen)
        {
            model.RecordHandedOut(offset, position, context);
        }
    }

    private async Task FollowAsync(StreamModel model, ReadStart start, int position, ConcurrentBag<(Offset, int, string)> seen)
    {
        // Each page holds at least one record, so more pages than records means the reads loop.
        for (var pages = 0; pages <= model.Count + 1; pages++)
        {
            var (next, upToDate) = await ReadPageAsync(model, start, position, seen);
            if (upToDate)
            {
                return;
            }

            position = (int)next.Position;
            start = ReadStart.At(next);
        }

        throw new ReadEquivalenceViolation($"{model.Name}: following Next from the beginning never became up to date");
    }

    private async Task<(Offset Next, bool UpToDate)> ReadPageAsync(
        StreamModel model,
        ReadStart start,
        int position,
        ConcurrentBag<(Offset, int, string)> seen)
    {
        var context = $"read of {model.Name} from {Describe(start)} (position {position} of {model.Count}, max {maxReadBytes} B)";
        var reply = await node.AskAsync(new ReadStream(model.Name, start, null, maxReadBytes));
        var page = Expect<ReadCompleted>(reply, context);
        CheckView(model, page.Stream, context);

        var count = page.Records.Count;
        var end = position + count;
        Require(page.From == model.OffsetAt(position), $"{context}: From is {page.From}, expected {model.OffsetAt(position)}");
        Require(end <= model.Count, $"{context}: {count} records, but only {model.Count - position} follow");
        Require(position == model.Count || count > 0, $"{context}: an empty page before the tail");
        var bytes = page.Records.Sum(record => (long)record.Length);
        Require(count <= 1 || bytes <= maxReadBytes, $"{context}: {count} records of {bytes} B exceed the page budget");
        for (var i = 0; i < count; i++)
        {
            var expected = model.Records[position + i];
            var actual = page.Records[i];
            Require(
                actual.Span.SequenceEqual(expected),
                $"{context}: record at position {position + i} is {StreamModel.RecordText(actual.ToArray())}, expected {StreamModel.RecordText(expected)}");
        }

        Require(page.Next == model.OffsetAt(end), $"{context}: Next is {page.Next}, expected {model.OffsetAt(end)}");
        Require(count == 0 ? page.Next == page.From : page.Next.CompareTo(page.From) > 0, $"{context}: Next {page.Next} does not follow From {page.From}");
        Require(page.UpToDate == (end == model.Count), $"{context}: UpToDate is {page.UpToDate} at position {end} of {model.Count}");
        Require(page.Closed == (model.Closed && end == model.Count), $"{context}: Closed is {page.Closed}");
        Require(!page.TimedOut, $"{context}: an immediate read reported a timeout");
        seen.Add((page.From, position, context));
        seen.Add((page.Next, end, context));
        return (page.Next, page.UpToDate);
    }

    private async Task ExpectLostAsync(StreamModel model, Offset offset, byte[][] prefix, ConcurrentBag<(Offset, int, string)> seen)
    {
        var context = $"read of {model.Name} from {offset}, handed out after {StreamModel.Describe(prefix)}, which were lost";
        var reply = await node.AskAsync(new ReadStream(model.Name, ReadStart.At(offset), null, maxReadBytes));
        var rejected = ExpectRejection(reply, ErrorCode.OffsetInLostTail, context);
        Require(rejected.NextOffset is not null, $"{context}: no offset to resume at");
        var resume = rejected.NextOffset!.Value;
        Require(resume.Position <= model.CommonPrefixLength(prefix), $"{context}: resumes at {resume}, past the history it shares with the stream");
        Require(resume == model.OffsetAt(resume.Position), $"{context}: resumes at {resume}, expected {model.OffsetAt(resume.Position)}");
        seen.Add((resume, (int)resume.Position, context));
    }

    private static string Describe(ReadStart start) =>
        start.Kind switch
        {
            ReadStartKind.Beginning => "-1",
            ReadStartKind.Tail => "now",
            _ => start.Offset.ToString(),
        };
}
