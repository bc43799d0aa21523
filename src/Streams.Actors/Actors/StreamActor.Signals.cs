using Streams.Actors.Subscriptions;

namespace Streams.Actors.Actors;

/// <summary>
/// Signals for subscriptions, published on the actor system's event stream. Each is published
/// before the change is acknowledged to the client, so the client can never reach a subscription
/// before it has heard of the change (the subscription manager's mailbox already holds it).
/// </summary>
public sealed partial class StreamActor
{
    /// <param name="activity">Created or appended to (true), or only loaded or hydrated (false).</param>
    private void SignalTail(LiveStream live, bool activity)
    {
        // A soft-deleted source lives on only for its forks; to subscribers it is gone.
        if (!live.SoftDeleted)
        {
            Context.System.EventStream.Publish(new StreamSignals.TailObserved(streamName, live.CommittedTail, activity));
        }
    }

    private void SignalRemoved() =>
        Context.System.EventStream.Publish(new StreamSignals.StreamRemoved(streamName));
}
