using Akka.Actor;
using Streams.Actors.Protocol;

namespace Streams.Actors.Actors;

/// <summary>
/// In a cluster the stream owners are shard entities with no supervisor of ours above them, so
/// this actor takes the uploader's <see cref="FencingMessages.OwnershipLost"/> announcements off the
/// node's event stream and sends them through the shard region. No state; stashes nothing.
/// </summary>
public sealed class OwnershipLossForwarderActor : ReceiveActor
{
    public OwnershipLossForwarderActor(IActorRef streams)
    {
        Receive<FencingMessages.OwnershipLost>(lost => streams.Tell(lost));
    }

    public static Props Props(IActorRef streams) => Akka.Actor.Props.Create(() => new OwnershipLossForwarderActor(streams));

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(FencingMessages.OwnershipLost));
}
