using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// Forks in a cluster (docs/adr/0011-forks-across-cluster-nodes.md), the parts a single node does
/// not have: the lineage reader whose remote entry is the fork's source, read from its owner; the
/// source's side of those reads (<see cref="ReadForkRange"/>, <see cref="FindForkAppendEnd"/>),
/// answered in Ready and SoftDeleted alike; and a delete that lists the fork markers before the
/// writer decides between soft delete and removal. The rest of the fork logic is in StreamActor.Forks.cs.
/// </summary>
public sealed partial class StreamActor
{
    private IRecordReader? forkAwareReader;

    private bool Clustered => dependencies.Cluster is not null;

    /// <summary>
    /// The reader of this stream's lineage: in a cluster a fork's source is a remote entry, read from
    /// its owner through the region; on a single node every entry is local.
    /// </summary>
    private IRecordReader RecordReader => !Clustered
        ? dependencies.RecordReader
        : forkAwareReader ??= new ForkAwareRecordReader(
            dependencies.RecordReader,
            new ClusterForkSourceReader(
                Router,
                dependencies.Settings.AskTimeout,
                dependencies.Settings.MoveRetryPause,
                dependencies.Settings.ForkReadPageBytes));

    private ObjectStore.ForkReferences ForkReferences =>
        dependencies.ForkReferences ?? throw new InvalidOperationException("a cluster node needs its fork references");

    // ---- Serving a fork's reads, deleting with markers -----------------------------------------

    /// <summary>
    /// Records a fork reads below its fork position, from this stream's lineage (so a remote entry of
    /// its own recurses to its source's owner), off the actor thread, answered directly. A record
    /// larger than a page is answered one page-sized piece at a time.
    /// </summary>
    private void ServeForkRange(LiveStream live, ReadForkRange read)
    {
        var end = Math.Min(read.ToPosition, live.CommittedPosition);
        if (read.FromPosition < 0 || read.FromPosition >= end || read.SkipBytes < 0)
        {
            // A fork only reads below its fork position, which this stream had committed: these
            // positions were lost with an unclean stop of this stream's earlier owner.
            Sender.Tell(new StreamRejected(
                ErrorCode.Unavailable,
                $"stream '{streamName}' has no records at positions {read.FromPosition}..{read.ToPosition} any more"));
            return;
        }

        var reader = RecordReader;
        var lineage = live.Lineage;
        var pageBytes = dependencies.Settings.ForkReadPageBytes;
        var maxBytes = Math.Max(1, Math.Min(read.MaxBytes, pageBytes));
        var from = read.FromPosition;
        var skip = read.SkipBytes;
        Task.Run(async () =>
            {
                var records = await lineage.ReadAsync(reader, from, end, maxBytes, CancellationToken.None);
                var first = records[0].Payload;
                if (skip > 0 || first.Length > pageBytes)
                {
                    if (skip >= first.Length)
                    {
                        return (object)new StreamRejected(ErrorCode.InvalidOffset, $"the record at {from} has only {first.Length} bytes");
                    }

                    var piece = first.Slice((int)skip, (int)Math.Min(pageBytes, first.Length - skip)).ToArray();
                    return new ForkRangeRead([piece], first.Length);
                }

                return new ForkRangeRead(records.Select(record => record.Payload.ToArray()).ToArray(), PartialRecordLength: 0);
            })
            .PipeTo(Sender, failure: exception => new StreamRejected(ErrorCode.Unavailable, $"the fork source could not be read: {exception.Message}"));
    }

    /// <summary>Where the append covering a position ends, cut at the end of the range its stream serves here.</summary>
    private void ServeForkAppendEnd(LiveStream live, FindForkAppendEnd find)
    {
        var reader = RecordReader;
        var database = dependencies.Database;
        var (entry, rangeEnd) = live.Lineage.Serving(find.Position);
        var committed = live.CommittedPosition;
        var position = find.Position;
        Task.Run(async () =>
            {
                var end = await ForkPrefix.AppendEndAsync(reader, database, entry, position, CancellationToken.None);
                return new ForkAppendEndFound(Math.Min(end, Math.Min(rangeEnd, committed)));
            })
            .PipeTo(Sender, failure: exception => new StreamRejected(ErrorCode.Unavailable, $"the fork source could not be read: {exception.Message}"));
    }

    /// <summary>
    /// A delete in a cluster: forks on any node reference this stream by their markers, so the owner
    /// lists them first and the writer then soft-deletes (some marker) or removes (none). A removed
    /// fork then drops its own marker and waits until its source has taken the release in, so that a
    /// client told "deleted" finds a soft-deleted source already being collected.
    /// </summary>
    private void StartClusterDelete(LiveStream live, IActorRef? replyTo)
    {
        var references = ForkReferences;
        var walWriter = dependencies.WalWriter;
        var router = Router;
        var timeout = dependencies.Settings.AskTimeout;
        var name = streamName;
        var streamId = live.StreamId;
        var sourceName = live.ForkParentName;
        var log = this.log;
        Task.Run(async () =>
            {
                var referenced = await references.AnyAsync(name, CancellationToken.None);
                var removal = new RemoveUnlessForkedOperation(streamId, referenced);
                var result = await walWriter.Submit(removal);
                if (result == StreamRemoval.SoftDeleted)
                {
                    return (object)new StreamSoftDeleted(replyTo);
                }

                if (result == StreamRemoval.Removed && sourceName is not null)
                {
                    await ReleaseSourceAsync(references, router, timeout, sourceName, name, log);
                }

                // The operation has completed here, so its tombstone generation is set.
                return new StreamRemoved(removal.TombstoneGeneration, replyTo);
            })
            .PipeTo(Self, failure: exception => new WriteFailed(exception, replyTo));
        BecomeWaitingForWrite();
    }

    /// <summary>
    /// The fork is gone: its marker goes, then its source is told. Failures are only logged: the fork's
    /// removal is committed, and a source kept by a stale marker only stays soft-deleted (it collects
    /// itself once the marker is gone and it is loaded or released again).
    /// </summary>
    private static async Task ReleaseSourceAsync(
        ObjectStore.ForkReferences references,
        IActorRef router,
        TimeSpan timeout,
        string sourceName,
        string forkName,
        ILoggingAdapter log)
    {
        try
        {
            await references.RemoveAsync(sourceName, forkName, CancellationToken.None);
            await router.Ask<object>(new ForkReleased(sourceName), timeout);
        }
        catch (Exception exception)
        {
            log.Warning("Releasing the source {0} of the removed fork {1} did not finish: {2}", sourceName, forkName, exception.Message);
        }
    }
}
