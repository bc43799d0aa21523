using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// Forks and soft delete.
///
/// As a fork: an Absent owner asked to create a fork asks the source's owner (through the
/// supervisor, answer piped back as a message) to describe itself at the fork offset, stashing
/// everything meanwhile (AwaitingForkSource), then writes its row — referencing the source — and its
/// materialised sub-offset prefix like any create. Reads below the fork position go to the source's
/// records through the lineage; live waits only ever wake on the fork's own appends.
///
/// As a source: it answers <see cref="DescribeForkSource"/> without taking a reference; the fork's
/// committed row is the reference. A delete of a stream some fork references leaves it SoftDeleted:
/// 410 to clients, 409 to a PUT, its records kept. When a fork is removed it tells its parent, which,
/// if soft-deleted and no longer referenced, removes itself and tells its own parent in turn.
///
/// In a cluster (docs/adr/0011-forks-across-cluster-nodes.md) a fork never depends on rows of its
/// source on its own node: the reference is a marker object in the bucket, written before the source
/// is asked to describe itself and removed once the fork is gone; positions below the fork position
/// are read from the source's owner (<see cref="ReadForkRange"/>), which answers in Ready and
/// SoftDeleted alike; and a delete lists the markers before it decides between soft delete and removal
/// (StreamActor.ClusterForks.cs).
/// </summary>
public sealed partial class StreamActor
{
    private bool softDeletedCollectAttempted;

    // ---- Creating a fork: this stream is the fork ---------------------------------------------

    private void HandleCreateFork(CreateFork create)
    {
        if (string.Equals(create.SourceName, streamName, StringComparison.Ordinal))
        {
            // Absent, so there is nothing to fork; asking ourselves would only wait for a timeout.
            Sender.Tell(new StreamRejected(ErrorCode.StreamNotFound, $"stream '{create.SourceName}' does not exist"));
            return;
        }

        var replyTo = Sender;
        var describe = new DescribeForkSource(create.SourceName, streamName, create.ContentType, create.ForkOffset, create.SubOffset);
        var router = Router;
        var timeout = dependencies.Settings.AskTimeout;
        var references = Clustered ? ForkReferences : null;
        var forkName = streamName;
        // The supervisor (or the shard region) routes by name and starts the source's owner if needed.
        // The answer arrives as a message, so this actor never blocks, and the source's owner never
        // waits for us.
        Task.Run(async () =>
            {
                if (references is not null)
                {
                    // Before the source is asked: a delete the source handles after our question then
                    // certainly sees the marker (the source handles both in turn), so it only soft-deletes.
                    await references.AddAsync(describe.StreamName, forkName, CancellationToken.None);
                }

                return await router.Ask<object>(describe, timeout);
            })
            .PipeTo(
                Self,
                success: answer => new ForkSourceAnswered(create, replyTo, answer),
                failure: exception => new ForkSourceAnswered(
                    create,
                    replyTo,
                    exception is AskTimeoutException or TaskCanceledException
                        ? new StreamRejected(ErrorCode.Timeout, $"the fork source '{create.SourceName}' did not answer in time; retry")
                        : new StreamRejected(ErrorCode.Unavailable, $"the fork could not be registered with its source: {exception.Message}")));
        SetReceiveTimeout(null);
        Become(AwaitingForkSource);
    }

    private void AwaitingForkSource()
    {
        Receive<ForkSourceAnswered>(HandleForkSourceAnswered);
        Receive<ForkAbandoned>(abandoned =>
        {
            abandoned.ReplyTo.Tell(abandoned.Reply);
            BecomeAbsent();
            UnstashAllWaiting();
        });
        Receive<WaiterTimedOut>(_ => { });
        ReceiveAny(StashOrReject);
    }

    private void HandleForkSourceAnswered(ForkSourceAnswered answered)
    {
        var create = answered.Create;
        if (answered.Answer is not ForkSourceDescribed source)
        {
            AbandonFork(
                create,
                answered.ReplyTo,
                answered.Answer as StreamRejected
                    ?? new StreamRejected(ErrorCode.Unavailable, $"unexpected answer {answered.Answer.GetType().Name} from the fork source"));
            return;
        }

        var contentType = create.ContentType ?? source.ContentType;
        if (SplitInitialBody(contentType, create.InitialBody, dependencies.Settings.MaxAppendMessages, out var initialRecords) is { } rejected)
        {
            AbandonFork(create, answered.ReplyTo, rejected);
            return;
        }

        // Without a TTL or expiry of its own the fork takes the source's (a fresh sliding window for a
        // TTL); with one it keeps it, uncapped by the source's.
        var inheritsExpiry = create.TtlSeconds is null && create.ExpiresAt is null;
        var now = NowMs;
        var position = source.ForkPosition;
        var row = new StreamRow
        {
            Name = streamName,
            ContentType = contentType,
            CreatedAtMs = now,
            TtlSeconds = inheritsExpiry ? source.TtlSeconds : create.TtlSeconds,
            ExpiresAtMs = inheritsExpiry ? source.ExpiresAtMs : create.ExpiresAt?.ToUnixTimeMilliseconds(),
            LastAccessMs = now,
            Closed = create.Closed,
            // The fork's own records — and so its WAL rows and segments — start at the fork position.
            NextPosition = position,
            SealedThrough = position,
            UploadedThrough = position,
            // In a cluster the source is referenced by its marker and read through its owner: no id of
            // a row on this node, which the source may never have had or may leave at any time.
            ForkParentId = Clustered ? null : source.StreamId,
            ForkPosition = position,
            ForkSubOffset = create.SubOffset,
            ForkParentName = source.Name,
            Epochs = source.Epochs,
        };
        // Producer and Stream-Seq state are deliberately not copied: the fork's writers start afresh.
        List<byte[]> records = [.. source.Prefix, .. initialRecords];
        int[] appendSizes = [source.Prefix.Count, initialRecords.Count];
        var replyTo = answered.ReplyTo;
        var name = streamName;
        var sourceLineage = source.Lineage;
        var clustered = Clustered;
        var sourceName = source.Name;
        dependencies.WalWriter.Submit(new CreateStreamOperation(row, records, now, appendSizes))
            .PipeTo(
                Self,
                success: streamId => new StreamStored(
                    row with
                    {
                        StreamId = streamId,
                        NextPosition = position + records.Count,
                        Lineage = clustered
                            ? StreamLineage.RemoteFork(streamId, name, position, sourceName)
                            : StreamLineage.ForkOf(sourceLineage, streamId, name, position),
                    },
                    replyTo),
                failure: exception => new WriteFailed(exception, replyTo));
        BecomeWaitingForWrite();
    }

    /// <summary>
    /// The fork is not created: answer <paramref name="reply"/>. In a cluster its marker goes first, so
    /// a delete of the source after this answer does not find it; and a source that soft-deleted itself
    /// meanwhile (it saw the marker) is told, so that it can collect itself.
    /// </summary>
    private void AbandonFork(CreateFork create, IActorRef replyTo, object reply)
    {
        if (!Clustered)
        {
            replyTo.Tell(reply);
            BecomeAbsent();
            UnstashAllWaiting();
            return;
        }

        var references = ForkReferences;
        var router = Router;
        var forkName = streamName;
        var sourceName = create.SourceName;
        var sourceSoftDeleted = reply is StreamRejected { Code: ErrorCode.StreamSoftDeleted };
        var log = this.log;
        Task.Run(async () =>
            {
                await references.RemoveAsync(sourceName, forkName, CancellationToken.None);
                if (sourceSoftDeleted)
                {
                    router.Tell(new ForkReleased(sourceName), ActorRefs.NoSender);
                }

                return new ForkAbandoned(replyTo, reply);
            })
            .PipeTo(
                Self,
                failure: exception =>
                {
                    // The marker stays: the source can at worst be kept soft-deleted, never lose records.
                    log.Warning("The fork marker of {0} on {1} could not be removed: {2}", forkName, sourceName, exception.Message);
                    return new ForkAbandoned(replyTo, reply);
                });
    }

    /// <summary>The fork's initial records, or the rejection (same rules and limits as any PUT body).</summary>
    private static StreamRejected? SplitInitialBody(string contentType, byte[] body, int maxMessages, out List<byte[]> records)
    {
        records = [];
        if (body.Length == 0)
        {
            return null;
        }

        if (!ContentTypes.IsJson(contentType))
        {
            records = [body];
            return null;
        }

        return JsonMessages.Split(body, maxMessages, out records, out var problem) switch
        {
            JsonSplit.Valid => null,
            JsonSplit.TooManyMessages => new StreamRejected(ErrorCode.PayloadTooLarge, problem),
            _ => new StreamRejected(ErrorCode.InvalidJson, $"the body is not valid JSON: {problem}"),
        };
    }

    // ---- Fork commands while Ready ----------------------------------------------------------

    private void HandleForkCommand(LiveStream live, IForkCommand command)
    {
        switch (command)
        {
            case CreateFork create when live.MatchesFork(create):
                ReplyAfterCommits(Sender, new StreamCreated(live.View(), Created: false));
                break;
            case CreateFork:
                Sender.Tell(new StreamRejected(
                    ErrorCode.StreamAlreadyExistsWithDifferentConfig,
                    "a stream with a different configuration already exists at this path"));
                break;
            case DescribeForkSource describe:
                DescribeAsForkSource(live, describe);
                break;
            case ForkReleased:
                // Only a soft-deleted source has anything to do when a fork goes away.
                NoteForkReleased();
                break;
            case ReadForkRange read:
                ServeForkRange(live, read);
                break;
            case FindForkAppendEnd find:
                ServeForkAppendEnd(live, find);
                break;
        }
    }

    /// <summary>Checks a fork request against this stream and describes it; no reference is taken here.</summary>
    private void DescribeAsForkSource(LiveStream live, DescribeForkSource describe)
    {
        if (describe.ContentType is { } contentType && !ContentTypes.SameMediaType(contentType, live.ContentType))
        {
            Sender.Tell(new StreamRejected(
                ErrorCode.ContentTypeMismatch,
                $"content type '{contentType}' does not match the source's '{live.ContentType}'"));
            return;
        }

        var position = live.CommittedPosition;
        if (describe.ForkOffset is { } offset &&
            (!live.Epochs.TryResolve(offset, out position, out _) || position > live.CommittedPosition))
        {
            Sender.Tell(new StreamRejected(
                ErrorCode.InvalidOffset,
                $"Stream-Fork-Offset {offset} is not an offset of the source at or before its tail {live.CommittedTail}"));
            return;
        }

        var epochs = live.Epochs.Starts.Where((start, index) => index == 0 || start.StartPosition <= position).ToList();
        var described = new ForkSourceDescribed(
            live.StreamId,
            live.Name,
            live.ContentType,
            live.TtlSeconds,
            live.ExpiresAtMs,
            position,
            epochs,
            live.Lineage.Entries,
            Prefix: []);
        if (describe.SubOffset == 0)
        {
            Sender.Tell(described);
            return;
        }

        var reader = RecordReader;
        var database = dependencies.Database;
        var lineage = live.Lineage;
        var isJson = live.IsJson;
        var end = live.CommittedPosition;
        var subOffset = describe.SubOffset;
        // In a cluster the answer crosses remoting in one message: the prefix must fit a frame.
        var maxPrefixBytes = Clustered ? dependencies.Settings.ForkReadPageBytes : long.MaxValue;
        // Reading the record(s) at the fork position is I/O: off the actor thread, answered directly.
        Task.Run(() => ForkPrefix.MaterialiseAsync(reader, database, lineage, isJson, position, end, subOffset, CancellationToken.None))
            .PipeTo(
                Sender,
                // An array: the answer may cross remoting (see ServeForkRange).
                success: prefix => prefix.Records is not { } records
                    ? new StreamRejected(ErrorCode.InvalidHeader, prefix.Problem!)
                    : records.Sum(record => (long)record.Length) > maxPrefixBytes
                        ? new StreamRejected(
                            ErrorCode.PayloadTooLarge,
                            $"a Stream-Fork-Sub-Offset prefix of more than {maxPrefixBytes} bytes cannot be forked on a cluster")
                        : described with { Prefix = records.ToArray() },
                failure: exception => new StreamRejected(ErrorCode.Unavailable, $"the fork source could not be read: {exception.Message}"));
    }

    // ---- SoftDeleted --------------------------------------------------------------------------

    /// <param name="collect">
    /// Loaded from the index: check once whether the forks that kept it are all gone, in case the
    /// last one's release was lost (a crash between its removal and the message). Once per owner: a
    /// failed check reloads the stream, and retrying on every reload would spin on a failing disk.
    /// </param>
    private void BecomeSoftDeleted(bool collect = false)
    {
        Become(SoftDeleted);
        UpdateReceiveTimeout();
        if (collect && !softDeletedCollectAttempted)
        {
            softDeletedCollectAttempted = true;
            StartDelete(stream!, replyTo: null);
        }
    }

    private void SoftDeleted()
    {
        // Appends accepted before the delete still get their answers.
        Receive<AppendCommitted>(committed => HandleCommitResult(committed.CommitNumber, committed, serving: false));
        Receive<AppendFailed>(failed => HandleCommitResult(failed.CommitNumber, failed, serving: false));
        Receive<ForkReleased>(_ =>
        {
            NoteForkReleased();
            StartDelete(stream!, replyTo: null);
        });
        // Its records stay for the forks made before the delete: they keep reading through it.
        Receive<ReadForkRange>(read => ServeForkRange(stream!, read));
        Receive<FindForkAppendEnd>(find => ServeForkAppendEnd(stream!, find));
        // The publish asked for when it was soft-deleted (cluster mode) answers here.
        Receive<PipelineMessages.AllPublished>(_ => { });
        Receive<CreateStream>(_ => Sender.Tell(SoftDeletedConflict()));
        Receive<CreateFork>(_ => Sender.Tell(SoftDeletedConflict()));
        Receive<DescribeForkSource>(_ => Sender.Tell(new StreamRejected(
            ErrorCode.StreamSoftDeleted,
            $"stream '{streamName}' was deleted; only the forks made before can still read it")));
        Receive<IStreamCommand>(_ => Sender.Tell(new StreamRejected(ErrorCode.StreamGone, $"stream '{streamName}' was deleted")));
        Receive<WaiterTimedOut>(_ => { });
        Receive<PlacementMessages.HandOff>(_ => StartHandOff());
        Receive<ReceiveTimeout>(_ =>
        {
            if (commits.InFlight == 0)
            {
                RequestPassivation();
            }
        });
        Receive<StreamSupervisorActor.StopWhenIdle>(_ =>
        {
            if (commits.InFlight == 0 && !reloadAfterInflight)
            {
                Context.Stop(Self);
            }
            else
            {
                DeclineStop();
            }
        });
    }

    private void HandleStreamSoftDeleted(StreamSoftDeleted softDeleted)
    {
        if (Clustered && !stream!.SoftDeleted)
        {
            // The next owner, on any node, must restore it soft-deleted: publish that now rather than
            // at the next hand-off, which a crash could forestall.
            Context.ActorSelection($"/user/{UploaderName}").Tell(new PipelineMessages.PublishStream(stream.StreamId));
        }

        stream!.SoftDeleted = true;
        SignalRemoved();
        softDeleted.ReplyTo?.Tell(new StreamDeleted(streamName));
        BecomeSoftDeleted();
        UnstashAllWaiting();
    }

    /// <summary>This stream is gone for good: its parent may be a soft-deleted source waiting for that.</summary>
    private void ReleaseForkParent()
    {
        if (Clustered)
        {
            // Done by the delete itself, before the client is answered (StartClusterDelete).
            return;
        }

        if (stream?.ForkParentName is { } parent)
        {
            Router.Tell(new ForkReleased(parent), ActorRefs.NoSender);
        }
    }

    /// <summary>A fork that waits for this answer (cluster mode) may now tell its client it is deleted.</summary>
    private void NoteForkReleased()
    {
        if (!Sender.IsNobody())
        {
            Sender.Tell(new ForkReleaseNoted(streamName));
        }
    }

    private StreamRejected SoftDeletedConflict() =>
        new(ErrorCode.StreamSoftDeleted, $"stream '{streamName}' was deleted but forks still read it; the path cannot be reused yet");

    // ---- private messages ------------------------------------------------------------------

    private sealed record ForkSourceAnswered(CreateFork Create, IActorRef ReplyTo, object Answer);

    private sealed record StreamSoftDeleted(IActorRef? ReplyTo);

    private sealed record ForkAbandoned(IActorRef ReplyTo, object Reply);
}
