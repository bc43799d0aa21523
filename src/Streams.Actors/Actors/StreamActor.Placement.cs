using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Protocol;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.PipelineMessages;
using static Streams.Actors.Protocol.PlacementMessages;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// The owner's place in a cluster. On a single node the parent is the <see cref="StreamSupervisorActor"/>
/// and stopping is its passivation handshake. In a cluster the parent is sharding's <c>Shard</c>: an
/// idle owner asks it to passivate with <see cref="HandOff"/> as the stop message, and the Shard
/// holds every message for the stream from then until the owner has stopped, then starts a fresh
/// owner for them — so a stop is never declined there. <see cref="HandOff"/> (also sharding's
/// hand-off stop message when a shard moves) means HandingOff: answer waiting readers "moving", let
/// the appends in flight commit, seal the tail, publish a manifest marked drained cleanly, drop the
/// local rows and stop. The next owner, on this node or another, hydrates from that manifest and
/// keeps the epoch; a node never serves rows it kept from an earlier ownership.
/// </summary>
public sealed partial class StreamActor
{
    /// <summary>Names the hosting gives the node-wide pipeline actors (under <c>/user</c>).</summary>
    public const string SegmenterName = "segmenter";
    public const string UploaderName = "uploader";

    private static readonly TimeSpan HandOffRetryPause = TimeSpan.FromMilliseconds(200);

    private bool handingOff;
    private bool handOffStarted;

    /// <summary>Where messages for other streams (fork sources, fork releases) go.</summary>
    private IActorRef Router => dependencies.Cluster?.Region ?? Context.Parent;

    private void RegisterWithNode() => dependencies.Cluster?.RegisterOwner(streamName, Self);

    protected override void PostStop()
    {
        dependencies.Cluster?.UnregisterOwner(streamName, Self);
        // Counted here rather than by whoever stopped the owner: the local supervisor passivates it
        // on a single node, the shard region in a cluster, and either leaves its state as garbage.
        StoppedStreamOwners.Record();
        base.PostStop();
    }

    /// <summary>Where-is questions are answered in every state, without waiting for a load or hydration.</summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is LocateOwner && dependencies.Cluster is { } node)
        {
            Sender.Tell(!handingOff && node.HttpBaseUrl is { } url ? new OwnerLocated(streamName, node.Name, url) : Moving());
            return true;
        }

        return base.AroundReceive(receive, message);
    }

    /// <summary>Asks whoever started this owner to stop it once the messages already sent to it are handled.</summary>
    private void AskToStop()
    {
        if (dependencies.Cluster is { } node)
        {
            // From here on new requests find no local owner and go through the region, which holds them.
            node.UnregisterOwner(streamName, Self);
            Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(HandOff.Instance));
            return;
        }

        Context.Parent.Tell(new StreamSupervisorActor.Passivate(Self));
    }

    /// <summary>Only the supervisor's handshake can be declined (see the class comment).</summary>
    private void DeclineStop()
    {
        if (dependencies.Cluster is null)
        {
            Context.Parent.Tell(new StreamSupervisorActor.PassivationDeclined(Self));
            return;
        }

        StartHandOff();
    }

    private StreamRejected Moving() =>
        new(ErrorCode.StreamMoving, $"stream '{streamName}' is moving to another node; retry");

    // ---- HandingOff ------------------------------------------------------------------------

    private void StartHandOff()
    {
        if (handingOff)
        {
            return;
        }

        handingOff = true;
        dependencies.Cluster?.UnregisterOwner(streamName, Self);
        SetReceiveTimeout(null);
        foreach (var waiter in waiters.TakeAll())
        {
            // The reader's node asks again and reaches the stream's next owner.
            Timers.Cancel(waiter.TimerKey);
            waiter.ReplyTo.Tell(Moving());
        }

        Become(HandingOff);
        ContinueHandOff();
    }

    private void HandingOff()
    {
        // Appends accepted before the hand-off are acknowledged once committed; the drain waits for them.
        Receive<AppendCommitted>(committed =>
        {
            HandleCommitResult(committed.CommitNumber, committed, serving: false);
            ContinueHandOff();
        });
        Receive<AppendFailed>(failed =>
        {
            HandleCommitResult(failed.CommitNumber, failed, serving: false);
            ContinueHandOff();
        });
        Receive<HandOffFinished>(finished =>
        {
            if (finished.Error is not null)
            {
                log.Warning("Hand-off of stream {0} did not finish cleanly: {1}; its unpublished tail stays in the local WAL", streamName, finished.Error);
            }

            Context.Stop(Self);
        });
        Receive<IStreamCommand>(_ => Sender.Tell(Moving()));
        ReceiveAny(_ => { });
    }

    private void ContinueHandOff()
    {
        if (handOffStarted || commits.InFlight > 0)
        {
            return;
        }

        handOffStarted = true;
        if (stream is not { } live)
        {
            // Nothing of its own to publish: a deleted stream's tombstone is the uploader's.
            Context.Stop(Self);
            return;
        }

        // A soft-deleted stream moves like any other: its forks keep reading it through its next
        // owner, which restores it soft-deleted from the manifest published here.

        var segmenter = Context.ActorSelection($"/user/{SegmenterName}");
        var uploader = Context.ActorSelection($"/user/{UploaderName}");
        var shared = dependencies;
        var streamId = live.StreamId;
        var name = live.Name;
        var lastAccessMs = live.LastAccessMs;
        Task.Run(() => DrainForHandOffAsync(segmenter, uploader, shared, streamId, name, lastAccessMs))
            .PipeTo(Self, success: error => new HandOffFinished(error), failure: exception => new HandOffFinished(exception.Message));
    }

    /// <summary>
    /// Seal, publish clean, evict; null when all three happened, else what went wrong. Compaction stays
    /// away from the stream throughout, and for good unless the rows are gone: this node no longer owns it.
    /// </summary>
    private static async Task<string?> DrainForHandOffAsync(
        ActorSelection segmenter,
        ActorSelection uploader,
        StreamDependencies shared,
        long streamId,
        string name,
        long lastAccessMs)
    {
        var deadline = DateTimeOffset.UtcNow + shared.Settings.HandOffTimeout;
        if (shared.Compaction is { } compaction)
        {
            // Before the seal and the clean publish: no compaction may commit a layout between them and the eviction.
            await compaction.WithholdAsync(streamId).WaitAsync(Remaining(deadline));
        }

        string? problem = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            // Every acknowledged append is committed (nothing is in flight), so sealing now covers them all.
            var sealedStream = await segmenter.Ask<AllSealed>(new SealStream(streamId), Remaining(deadline));
            var published = await uploader.Ask<AllPublished>(new PublishStream(streamId), Remaining(deadline));
            if (sealedStream.Error is null && published.Failed == 0 && published.Error is null)
            {
                problem = null;
                break;
            }

            problem = sealedStream.Error ?? published.Error ?? "the object store refused the upload";
            await Task.Delay(HandOffRetryPause);
        }

        if (problem is not null)
        {
            return problem;
        }

        // Only a fully published stream is evicted; the next owner on this node hydrates it afresh.
        if (!await EvictLocalCopyAsync(shared, streamId, name, lastAccessMs))
        {
            // A cluster fork never references local rows (docs/adr/0011), so only rows left by a
            // single-node run on this disk can still hold the stream here.
            return "its local rows could not be dropped (a local fork still reads them)";
        }

        shared.Compaction?.Readmit(streamId);
        return null;
    }

    private static TimeSpan Remaining(DateTimeOffset deadline)
    {
        var remaining = deadline - DateTimeOffset.UtcNow;
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1);
    }

    private sealed record HandOffFinished(string? Error);
}
