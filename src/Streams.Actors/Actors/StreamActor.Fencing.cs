using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// Losing ownership: another node has published the stream's manifest (manifest fencing, see
/// docs/adr/0009-fencing-manifest-writes.md) and this node's rows for it are gone. The owner drops
/// what it holds in memory and restores the new owner's manifest, whatever the restore mode, so
/// every later request sees the new owner's history. Stashed requests stay stashed for it.
/// </summary>
public sealed partial class StreamActor
{
    private bool IsOwnLoss(FencingMessages.OwnershipLost lost) =>
        string.Equals(lost.WriterId, dependencies.Database.WriterId, StringComparison.Ordinal);

    private void RestoreAfterOwnershipLost()
    {
        foreach (var waiter in waiters.TakeAll())
        {
            Timers.Cancel(waiter.TimerKey);
            waiter.ReplyTo.Tell(new StreamRejected(ErrorCode.Unavailable, "the stream moved to another node; retry"));
        }

        stream = null;
        remoteChecked = false;
        StartHydration();
    }
}
