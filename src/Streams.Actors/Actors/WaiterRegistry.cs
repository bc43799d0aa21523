using Akka.Actor;

namespace Streams.Actors.Actors;

/// <summary>A live reader (long-poll or SSE) parked until records at or after its start position commit.</summary>
internal sealed record Waiter(long Id, IActorRef ReplyTo, long StartPosition, long MaxBytes)
{
    /// <summary>The key of the timer that answers the reader empty-handed when its wait runs out.</summary>
    public string TimerKey => $"waiter-{Id}";
}

/// <summary>
/// The live readers one stream owner has parked. Plain bookkeeping: the owner starts and cancels
/// the timers and answers the readers; this only decides who is woken, in what order and once.
/// </summary>
internal sealed class WaiterRegistry
{
    private readonly List<Waiter> waiters = [];
    private long nextId;

    public int Count => waiters.Count;

    /// <summary>Parks a reader and returns its waiter, whose id names its timeout.</summary>
    public Waiter Park(IActorRef replyTo, long startPosition, long maxBytes)
    {
        var waiter = new Waiter(++nextId, replyTo, startPosition, maxBytes);
        waiters.Add(waiter);
        return waiter;
    }

    /// <summary>
    /// Removes and returns, in the order they were parked, the readers that now have something to
    /// read: a record at or after their start was committed, or the stream was closed.
    /// </summary>
    public List<Waiter> TakeReadable(long committedPosition, bool closed)
    {
        var readable = new List<Waiter>();
        waiters.RemoveAll(waiter =>
        {
            if (waiter.StartPosition < committedPosition || closed)
            {
                readable.Add(waiter);
                return true;
            }

            return false;
        });
        return readable;
    }

    /// <summary>Removes the reader whose wait ran out; null when it was woken (or let go) meanwhile.</summary>
    public Waiter? TakeTimedOut(long waiterId)
    {
        var index = waiters.FindIndex(waiter => waiter.Id == waiterId);
        if (index < 0)
        {
            return null;
        }

        var waiter = waiters[index];
        waiters.RemoveAt(index);
        return waiter;
    }

    /// <summary>Removes and returns every parked reader (the stream is deleted or reloads).</summary>
    public List<Waiter> TakeAll()
    {
        var all = new List<Waiter>(waiters);
        waiters.Clear();
        return all;
    }
}
