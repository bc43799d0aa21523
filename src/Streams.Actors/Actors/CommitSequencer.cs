using Akka.Actor;

namespace Streams.Actors.Actors;

/// <summary>
/// The order in which one stream owner settles its appends. Each append gets a commit number when
/// it is submitted; the WAL writer commits in that order, but each result reaches the owner through
/// its own thread-pool continuation, so two appends of one group commit can report in either order.
/// Results are handed back in submission order, and replies that describe state other appends may
/// still be committing (duplicates, HEAD, an idempotent PUT) wait until everything issued before
/// them is durable. Plain bookkeeping: the owner applies the results and sends the replies.
/// </summary>
internal sealed class CommitSequencer
{
    /// <summary>Results that arrived before an earlier commit's result, keyed by commit number.</summary>
    private readonly SortedDictionary<long, object> earlyResults = [];
    private readonly Queue<DeferredReply> deferredReplies = new();
    private long issued;
    private long settled;
    private long handled;

    /// <summary>Appends submitted and not yet settled (committed or failed).</summary>
    public int InFlight { get; private set; }

    /// <summary>Numbers the next append to submit.</summary>
    public long Issue()
    {
        InFlight++;
        return ++issued;
    }

    /// <summary>
    /// Takes the result of commit <paramref name="commitNumber"/> and returns, in commit order, every
    /// result that can now be applied: none while an earlier one is still missing.
    /// </summary>
    public List<object> Arrive(long commitNumber, object result)
    {
        earlyResults[commitNumber] = result;
        var inOrder = new List<object>();
        while (earlyResults.Remove(handled + 1, out var next))
        {
            handled++;
            inOrder.Add(next);
        }

        return inOrder;
    }

    /// <summary>
    /// Records that commit <paramref name="commitNumber"/> settled. The writer commits in submission
    /// order, so a commit proves every earlier one settled too. Returns the deferred replies now due.
    /// </summary>
    public List<(IActorRef ReplyTo, object Reply)> Settle(long commitNumber)
    {
        InFlight--;
        settled = Math.Max(settled, commitNumber);
        var due = new List<(IActorRef, object)>();
        while (deferredReplies.TryPeek(out var deferred) && deferred.AfterCommit <= settled)
        {
            deferredReplies.Dequeue();
            due.Add((deferred.ReplyTo, deferred.Reply));
        }

        return due;
    }

    /// <summary>
    /// True when everything issued so far has settled, so a reply may go at once; otherwise the reply
    /// is kept until then and returned by a later <see cref="Settle"/>.
    /// </summary>
    /// <summary>Replies waiting for their commits (bounded by <c>streams.limits.deferred-replies-per-stream</c>).</summary>
    public int DeferredCount => deferredReplies.Count;

    public bool ReplyNowOrDefer(IActorRef replyTo, object reply)
    {
        if (settled >= issued)
        {
            return true;
        }

        deferredReplies.Enqueue(new DeferredReply(issued, replyTo, reply));
        return false;
    }

    private sealed record DeferredReply(long AfterCommit, IActorRef ReplyTo, object Reply);
}
