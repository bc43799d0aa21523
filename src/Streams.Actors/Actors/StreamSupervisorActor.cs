using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Protocol;
using Streams.Actors.Telemetry;

namespace Streams.Actors.Actors;

/// <summary>
/// Routes every stream command to the stream's owner, creating the owner on the first message.
/// Passivation is a handshake: an idle owner asks to stop, the supervisor stops it after anything
/// already in its mailbox, and buffers messages for that stream until it has terminated, then starts
/// a fresh owner for them — so no message is lost to a stopping actor.
/// </summary>
public sealed class StreamSupervisorActor : ReceiveActor
{
    private readonly StreamDependencies dependencies;
    private readonly StreamMessageExtractor extractor;
    private readonly Dictionary<string, IActorRef> owners = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> namesByOwner = [];
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> stopping = new(StringComparer.Ordinal);

    public StreamSupervisorActor(StreamDependencies dependencies)
    {
        this.dependencies = dependencies;
        extractor = new StreamMessageExtractor(dependencies.Settings.ClusterShardCount);
        Receive<IStreamCommand>(Route);
        Receive<Passivate>(HandlePassivate);
        Receive<Terminated>(HandleTerminated);
        Receive<PassivationDeclined>(HandleDeclined);
        Receive<GetActiveStreamCount>(_ => Sender.Tell(owners.Count));
    }

    // The uploader announces streams another node has taken over; their owners restore afresh.
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(FencingMessages.OwnershipLost));

    public static Props Props(StreamDependencies dependencies) =>
        Akka.Actor.Props.Create(() => new StreamSupervisorActor(dependencies));

    /// <summary>Sent by an idle owner that wants to stop.</summary>
    public sealed record Passivate(IActorRef Owner);

    /// <summary>Sent to an owner that asked to stop: it stops only if it is still idle.</summary>
    public sealed record StopWhenIdle;

    /// <summary>An owner that got busy again before it could stop keeps running.</summary>
    public sealed record PassivationDeclined(IActorRef Owner);

    /// <summary>Asks how many stream owners are alive (an int comes back).</summary>
    public sealed record GetActiveStreamCount;

    private void Route(IStreamCommand command)
    {
        // The same extractor the shard region uses in a cluster.
        var name = extractor.EntityId(command)!;
        if (stopping.TryGetValue(name, out var buffer))
        {
            if (buffer.Count >= dependencies.Settings.MaxSupervisorBufferPerStream)
            {
                Sender.Tell(Limits.Refusal("supervisor-buffer-per-stream"));
                return;
            }

            buffer.Add((command, Sender));
            return;
        }

        OwnerOf(name).Forward(extractor.EntityMessage(command));
    }

    private IActorRef OwnerOf(string streamName)
    {
        if (!owners.TryGetValue(streamName, out var owner))
        {
            owner = Context.ActorOf(StreamActor.Props(streamName, dependencies), $"stream-{StreamNaming.Hash(streamName)}");
            Context.Watch(owner);
            StreamsMetrics.StreamStarted();
            owners[streamName] = owner;
            namesByOwner[owner] = streamName;
        }

        return owner;
    }

    private void HandlePassivate(Passivate passivate)
    {
        if (!namesByOwner.TryGetValue(passivate.Owner, out var name) || stopping.ContainsKey(name))
        {
            return;
        }

        stopping[name] = [];
        // Handled after the messages already queued for the owner; it re-checks that it is idle.
        passivate.Owner.Tell(new StopWhenIdle());
    }

    private void HandleDeclined(PassivationDeclined declined)
    {
        if (!namesByOwner.TryGetValue(declined.Owner, out var name) || !stopping.Remove(name, out var buffer))
        {
            return;
        }

        foreach (var (message, sender) in buffer)
        {
            declined.Owner.Tell(message, sender);
        }
    }

    private void HandleTerminated(Terminated terminated)
    {
        if (!namesByOwner.Remove(terminated.ActorRef, out var name))
        {
            return;
        }

        owners.Remove(name);
        StreamsMetrics.StreamStopped(passivated: stopping.ContainsKey(name));
        if (stopping.Remove(name, out var buffer) && buffer.Count > 0)
        {
            var owner = OwnerOf(name);
            foreach (var (message, sender) in buffer)
            {
                owner.Tell(message, sender);
            }
        }
    }
}
