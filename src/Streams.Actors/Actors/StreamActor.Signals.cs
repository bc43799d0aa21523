using Streams.Actors.Subscriptions;

namespace Streams.Actors.Actors;

/// <summary>
/// Signals for subscriptions: on one node published on the actor system's event stream, in a
/// cluster on the cluster-wide topic the subscriptions' owner listens to (see
/// <see cref="StreamSignals.Publish"/>). Each is published before the change is acknowledged to
/// the client; on one node the subscription manager's mailbox therefore already holds it when the
/// client can ask anything.
/// </summary>
public sealed partial class StreamActor
{
    /// <param name="activity">Created or appended to (true), or only loaded or hydrated (false).</param>
    private void SignalTail(LiveStream live, bool activity)
    {
        // A soft-deleted source lives on only for its forks; to subscribers it is gone.
        if (!live.SoftDeleted)
        {
            StreamSignals.Publish(Context.System, clustered: dependencies.Cluster is not null, new StreamSignals.TailObserved(streamName, live.CommittedTail, activity));
        }
    }

    private void SignalRemoved() =>
        StreamSignals.Publish(Context.System, clustered: dependencies.Cluster is not null, new StreamSignals.StreamRemoved(streamName));
}
