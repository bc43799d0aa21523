namespace Streams.Actors.Storage;

/// <summary>
/// Which streams a compaction may touch right now. A stream that is being handed off or evicted is
/// withheld: a compaction of it in flight is cancelled and waited for, and none starts until it is
/// let back in — so a hand-off's seal, clean publish and eviction never meet a compaction that
/// commits a new layout in between (which would make the eviction refuse, leave rows of a stream this
/// node no longer owns, and keep a layout no manifest will list). A drain closes the gate for good:
/// whatever was in flight ends before the final publish. A cancelled compaction is abandoned
/// cleanly: its merged objects are already queued for deletion (<see cref="CompactionStartedOperation"/>).
/// Thread-safe: the compactor's round enters from pool threads, owners withhold from theirs.
/// </summary>
public sealed class CompactionGate
{
    private readonly Lock sync = new();
    private readonly Dictionary<long, Lease> running = [];
    private readonly HashSet<long> withheld = [];
    private bool closed;

    public bool IsClosed
    {
        get
        {
            lock (sync)
            {
                return closed;
            }
        }
    }

    /// <summary>
    /// The right to compact <paramref name="streamId"/> until the lease is disposed; null while the
    /// stream is withheld, the gate closed, or another compaction of the stream holds it.
    /// </summary>
    public Lease? TryEnter(long streamId)
    {
        lock (sync)
        {
            if (closed || withheld.Contains(streamId) || running.ContainsKey(streamId))
            {
                return null;
            }

            var lease = new Lease(this, streamId);
            running[streamId] = lease;
            return lease;
        }
    }

    /// <summary>
    /// Keeps compaction away from <paramref name="streamId"/> until <see cref="Readmit"/>: cancels the
    /// compaction of it in flight and completes once that has ended (committed or abandoned).
    /// </summary>
    public Task WithholdAsync(long streamId)
    {
        Lease? inFlight;
        lock (sync)
        {
            withheld.Add(streamId);
            running.TryGetValue(streamId, out inFlight);
        }

        return inFlight?.CancelAndWaitAsync() ?? Task.CompletedTask;
    }

    /// <summary>
    /// Compaction may touch the stream again: its eviction did not happen (it stays owned here), or
    /// its rows are gone (a stream id is never used again, so nothing can be planned for it).
    /// </summary>
    public void Readmit(long streamId)
    {
        lock (sync)
        {
            withheld.Remove(streamId);
        }
    }

    /// <summary>
    /// The node drains: no compaction starts from now on; completes once every compaction in flight
    /// has ended (each is cancelled first).
    /// </summary>
    public Task CloseAsync()
    {
        List<Lease> inFlight;
        lock (sync)
        {
            closed = true;
            inFlight = [.. running.Values];
        }

        return Task.WhenAll(inFlight.Select(lease => lease.CancelAndWaitAsync()));
    }

    private void Release(Lease lease)
    {
        lock (sync)
        {
            if (running.TryGetValue(lease.StreamId, out var current) && ReferenceEquals(current, lease))
            {
                running.Remove(lease.StreamId);
            }
        }
    }

    /// <summary>One compaction's hold on a stream; its token is cancelled when the stream is withheld or the gate closes.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly CompactionGate gate;
        private readonly CancellationTokenSource cancellation = new();
        private readonly TaskCompletionSource ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal Lease(CompactionGate gate, long streamId)
        {
            this.gate = gate;
            StreamId = streamId;
            Token = cancellation.Token;
        }

        public long StreamId { get; }

        public CancellationToken Token { get; }

        public void Dispose()
        {
            gate.Release(this);
            ended.TrySetResult();
            cancellation.Dispose();
        }

        internal Task CancelAndWaitAsync()
        {
            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Ended between the lookup and the cancel: nothing left to stop.
            }

            return ended.Task;
        }
    }
}
