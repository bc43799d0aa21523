using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// The single owner of one stream: it assigns offsets, enforces content type, Stream-Seq,
/// idempotent producers, closure and TTL, and parks live readers until data or closure arrives.
///
/// States: Loading (stash everything while the row is read) → Ready | Absent | SoftDeleted; Creating
/// and Deleting stash while their write commits; creating a fork first stashes while the source
/// describes itself (see StreamActor.Forks.cs). Appends are assigned positions at once but answered,
/// and shown to readers, only after the WAL writer has committed them.
/// </summary>
public sealed partial class StreamActor : ReceiveActor, IWithStash, IWithTimers
{
    private readonly string streamName;
    private readonly StreamDependencies dependencies;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly WaiterRegistry waiters = new();
    private readonly CommitSequencer commits = new();

    private LiveStream? stream;
    private bool reloadAfterInflight;

    /// <summary>Requests in the stash, counted against the stash limits.</summary>
    private int stashedRequests;

    public StreamActor(string streamName, StreamDependencies dependencies)
    {
        this.streamName = streamName;
        this.dependencies = dependencies;
        Loading();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string streamName, StreamDependencies dependencies) =>
        Akka.Actor.Props.Create(() => new StreamActor(streamName, dependencies));

    private long NowMs => dependencies.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    protected override void PreStart()
    {
        RegisterWithNode();
        StartLoading();
    }

    private void StartLoading()
    {
        var database = dependencies.Database;
        var name = streamName;
        Task.Run(() => database.LoadStream(name))
            .PipeTo(Self, success: row => new Loaded(row), failure: exception => new LoadFailed(exception));
    }

    // ---- Loading -------------------------------------------------------------------------

    private void Loading()
    {
        Receive<Loaded>(loaded =>
        {
            if (loaded.Row is null && dependencies.RestoreMode == RestoreMode.Lazy)
            {
                StartHydration();
                UnstashAllWaiting();
                return;
            }

            if (loaded.Row is null)
            {
                stream = null;
                BecomeAbsent();
            }
            else
            {
                stream = new LiveStream(loaded.Row);
                SignalTail(stream, activity: false);
                BecomeReady();
            }

            UnstashAllWaiting();
        });
        Receive<LoadFailed>(failed =>
        {
            log.Error(failed.Exception, "Loading stream {0} failed", streamName);
            RejectStashed("the stream could not be loaded; retry");
            Become(Failed);
        });
        ReceiveAny(StashOrReject);
    }

    /// <summary>Every waiting request gets a typed error (the caller retries; the next owner starts afresh).</summary>
    private void RejectStashed(string reason)
    {
        stashedRequests = 0;
        foreach (var envelope in Stash.ClearStash())
        {
            if (envelope.Message is IStreamCommand)
            {
                envelope.Sender.Tell(new StreamRejected(ErrorCode.Unavailable, reason));
            }
            else
            {
                // Not a request — above all the supervisor's StopWhenIdle, which it sends only once:
                // dropped, this owner would never stop and the stream's requests would wait forever.
                Self.Tell(envelope.Message, envelope.Sender);
            }
        }
    }

    /// <summary>Every waiting state stashes through here, within <c>streams.stash-limit</c>.</summary>
    private void StashOrReject(object message) =>
        StashOrReject(message, dependencies.Settings.StashLimit, "the stream is busy and too many requests are waiting; retry");

    /// <summary>
    /// Keeps a message for the state that follows. A request beyond <paramref name="limit"/> is
    /// answered at once instead: a stream stuck waiting must not hold requests without bound.
    /// Anything else (the supervisor's stop above all) is always kept: it is sent only once.
    /// </summary>
    private void StashOrReject(object message, int limit, string reason)
    {
        if (message is IStreamCommand)
        {
            if (stashedRequests >= limit)
            {
                Sender.Tell(new StreamRejected(ErrorCode.Unavailable, reason));
                return;
            }

            stashedRequests++;
        }

        Stash.Stash();
    }

    private void UnstashAllWaiting()
    {
        stashedRequests = 0;
        Stash.UnstashAll();
    }

    /// <summary>
    /// After a failed load or hydration, waiting only to stop. A request that arrives meanwhile goes
    /// back to the supervisor, which holds it until this owner has stopped and then gives it to a
    /// fresh one: the next request retries rather than inheriting this owner's failure.
    /// </summary>
    private void Failed()
    {
        Receive<StreamSupervisorActor.StopWhenIdle>(_ => Context.Stop(Self));
        Receive<PlacementMessages.HandOff>(_ => Context.Stop(Self));
        // Sent after the passivation request below, so whoever routes the stream already holds its requests.
        Receive<IStreamCommand>(command => Router.Forward(command));
        ReceiveAny(_ => { });
        AskToStop();
    }

    // ---- Absent --------------------------------------------------------------------------

    private void BecomeAbsent()
    {
        Become(Absent);
        SetReceiveTimeout(dependencies.Settings.PassivateAfter);
    }

    private void Absent()
    {
        Receive<CreateStream>(HandleCreateNew);
        Receive<ForkMessages.CreateFork>(HandleCreateFork);
        Receive<ForkMessages.ForkReleased>(_ => NoteForkReleased());
        Receive<FencingMessages.OwnershipLost>(lost =>
        {
            if (IsOwnLoss(lost))
            {
                RestoreAfterOwnershipLost();
            }
        });
        Receive<IStreamCommand>(_ => Sender.Tell(NotFound()));
        Receive<AppendCommitted>(committed => HandleCommitResult(committed.CommitNumber, committed, serving: false));
        Receive<AppendFailed>(failed => HandleCommitResult(failed.CommitNumber, failed, serving: false));
        Receive<ReceiveTimeout>(_ =>
        {
            if (commits.InFlight == 0)
            {
                RequestPassivation();
            }
        });
        Receive<StreamSupervisorActor.StopWhenIdle>(_ =>
        {
            // Appends of a deleted incarnation may still be committing; their senders get an answer first.
            if (commits.InFlight == 0)
            {
                Context.Stop(Self);
            }
            else
            {
                DeclineStop();
            }
        });
        Receive<WaiterTimedOut>(_ => { });
        Receive<PlacementMessages.HandOff>(_ => StartHandOff());
    }

    private void HandleCreateNew(CreateStream create)
    {
        if (CheckRemoteBeforeCreate())
        {
            return;
        }

        var now = NowMs;
        var row = new StreamRow
        {
            Name = streamName,
            ContentType = create.ContentType,
            CreatedAtMs = now,
            TtlSeconds = create.TtlSeconds,
            ExpiresAtMs = create.ExpiresAt?.ToUnixTimeMilliseconds(),
            LastAccessMs = now,
            Closed = create.Closed,
            // Above a tombstone's generation, so the new stream's first manifest replaces it.
            ManifestGeneration = tombstoneGeneration,
        };
        var replyTo = Sender;
        dependencies.WalWriter.Submit(new CreateStreamOperation(row, create.InitialRecords, now, [create.InitialRecords.Count]))
            .PipeTo(
                Self,
                success: streamId => new StreamStored(row with { StreamId = streamId, NextPosition = create.InitialRecords.Count }, replyTo),
                failure: exception => new WriteFailed(exception, replyTo));
        BecomeWaitingForWrite();
    }

    /// <summary>Creating or deleting: stash everything until the write has committed.</summary>
    private void BecomeWaitingForWrite()
    {
        SetReceiveTimeout(null);
        Become(WaitingForWrite);
    }

    private void WaitingForWrite()
    {
        Receive<StreamStored>(stored =>
        {
            stream = new LiveStream(stored.Row);
            SignalTail(stream, activity: true);
            stored.ReplyTo.Tell(new StreamCreated(stream.View(), Created: true));
            BecomeReady();
            UnstashAllWaiting();
        });
        Receive<StreamSoftDeleted>(HandleStreamSoftDeleted);
        Receive<StreamRemoved>(removed =>
        {
            ReleaseForkParent();
            stream = null;
            // This node just published (or queued) the tombstone; nothing remote to ask about.
            remoteChecked = true;
            // A re-creation from this owner must outrank the tombstone even after the uploader
            // has published it and dropped its local row.
            tombstoneGeneration = Math.Max(tombstoneGeneration, removed.TombstoneGeneration);
            SignalRemoved();
            removed.ReplyTo?.Tell(new StreamDeleted(streamName));
            BecomeAbsent();
            UnstashAllWaiting();
        });
        Receive<WriteFailed>(failed =>
        {
            log.Error(failed.Exception, "Writing stream {0} failed", streamName);
            failed.ReplyTo?.Tell(new StreamRejected(ErrorCode.Unavailable, "the write could not be committed; retry"));
            stream = null;
            UnstashAllWaiting();
            StartLoading();
            Become(Loading);
        });
        // Appends issued before a delete (or expiry) are answered as they settle, not stashed:
        // the state they would be unstashed into may no longer know them.
        Receive<AppendCommitted>(committed => HandleCommitResult(committed.CommitNumber, committed, serving: false));
        Receive<AppendFailed>(failed => HandleCommitResult(failed.CommitNumber, failed, serving: false));
        Receive<WaiterTimedOut>(_ => { });
        ReceiveAny(StashOrReject);
    }

    // ---- Ready ---------------------------------------------------------------------------

    private void BecomeReady()
    {
        if (stream!.SoftDeleted)
        {
            // Collecting needs to see every fork. Under a restore mode the forks may still be only in
            // the object store, so a soft-deleted source is kept until the forks release it; in a
            // cluster the markers in the bucket name every fork, wherever it lives.
            BecomeSoftDeleted(collect: dependencies.RestoreMode == RestoreMode.None || dependencies.Cluster is not null);
            return;
        }

        Become(Ready);
        UpdateReceiveTimeout();
    }

    private void Ready()
    {
        Receive<AppendCommitted>(committed => HandleCommitResult(committed.CommitNumber, committed, serving: true));
        Receive<AppendFailed>(failed => HandleCommitResult(failed.CommitNumber, failed, serving: true));
        Receive<WaiterTimedOut>(HandleWaiterTimedOut);
        Receive<PlacementMessages.HandOff>(_ => StartHandOff());
        Receive<ReceiveTimeout>(_ =>
        {
            if (waiters.Count == 0 && commits.InFlight == 0)
            {
                if (ShouldEvictWhenIdle())
                {
                    StartEviction(stream!);
                    return;
                }

                RequestPassivation();
            }
        });
        Receive<StreamSupervisorActor.StopWhenIdle>(_ =>
        {
            if (waiters.Count == 0 && commits.InFlight == 0 && !reloadAfterInflight)
            {
                Context.Stop(Self);
            }
            else
            {
                DeclineStop();
            }
        });
        Receive<FencingMessages.OwnershipLost>(lost =>
        {
            // An older incarnation's loss (announced while this one was being restored) changes nothing.
            if (IsOwnLoss(lost) && stream?.StreamId == lost.StreamId)
            {
                RestoreAfterOwnershipLost();
            }
        });
        Receive<IStreamCommand>(command =>
        {
            if (reloadAfterInflight)
            {
                StashOrReject(command);
                return;
            }

            var live = stream!;
            if (live.IsExpired(NowMs))
            {
                ExpireThenRetry(live);
                return;
            }

            switch (command)
            {
                case CreateStream create:
                    HandleCreateExisting(live, create);
                    break;
                case AppendToStream append:
                    HandleAppend(live, append);
                    break;
                case ReadStream read:
                    HandleRead(live, read);
                    break;
                case DescribeStream:
                    ReplyAfterCommits(Sender, new StreamDescribed(live.View()));
                    break;
                case DeleteStream:
                    StartDelete(live, Sender);
                    break;
                case GetStreamDetails:
                    ReportDetails(live, Sender);
                    break;
                case ForkMessages.IForkCommand fork:
                    HandleForkCommand(live, fork);
                    break;
                default:
                    Unhandled(command);
                    break;
            }
        });
    }

    private void HandleCreateExisting(LiveStream live, CreateStream create)
    {
        if (!live.MatchesConfig(create))
        {
            Sender.Tell(new StreamRejected(
                ErrorCode.StreamAlreadyExistsWithDifferentConfig,
                "a stream with a different configuration already exists at this path"));
            return;
        }

        ReplyAfterCommits(Sender, new StreamCreated(live.View(), Created: false));
    }

    private void HandleAppend(LiveStream live, AppendToStream append)
    {
        var closeOnly = append.Records.Count == 0;

        if (dependencies.Drain.IsDraining)
        {
            Sender.Tell(new StreamRejected(ErrorCode.Unavailable, "the server is shutting down; retry against the stream's next owner"));
            return;
        }

        if (!closeOnly && dependencies.Backlog.Bytes > dependencies.Settings.MaxUnpublishedBytes)
        {
            // The object store is not keeping up (or is down): refuse rather than fill the local disk.
            Sender.Tell(new StreamRejected(ErrorCode.Backpressure, "too much data is waiting to be uploaded; retry shortly"));
            return;
        }

        if (live.ClosedAssigned)
        {
            if (append.Producer is { } retry && live.ClosedBy == retry)
            {
                // The exact tuple that closed the stream: a retry of the close, already applied.
                ReplyAfterCommits(Sender, new Appended(live.AssignedTail, Closed: true, ProducerOf(live, retry), Duplicate: true));
                return;
            }

            if (closeOnly && append.Producer is null)
            {
                ReplyAfterCommits(Sender, new Appended(live.AssignedTail, Closed: true, Producer: null, Duplicate: false));
                return;
            }

            Sender.Tell(new StreamRejected(ErrorCode.StreamClosed, "the stream is closed", NextOffset: live.AssignedTail, Closed: true));
            return;
        }

        if (!closeOnly && append.ContentType is { } contentType && !ContentTypes.SameMediaType(contentType, live.ContentType))
        {
            Sender.Tell(new StreamRejected(
                ErrorCode.ContentTypeMismatch,
                $"content type '{contentType}' does not match the stream's '{live.ContentType}'"));
            return;
        }

        ProducerState? acceptedProducer = null;
        if (append.Producer is { } claim)
        {
            live.Producers.TryGetValue(claim.ProducerId, out var state);
            switch (ProducerRules.Judge(state, claim))
            {
                case ProducerVerdict.StaleEpoch:
                    Sender.Tell(new StreamRejected(
                        ErrorCode.ProducerEpochStale,
                        "a newer producer epoch has been seen",
                        ProducerEpoch: state!.Epoch));
                    return;
                case ProducerVerdict.NewEpochSeqNotZero:
                    Sender.Tell(new StreamRejected(
                        ErrorCode.ProducerEpochRequiresSeqZero,
                        "a new producer epoch must start at Producer-Seq 0"));
                    return;
                case ProducerVerdict.SeqGap:
                    Sender.Tell(new StreamRejected(
                        ErrorCode.ProducerSeqGap,
                        "Producer-Seq is ahead of the next expected value",
                        ExpectedSeq: ProducerRules.ExpectedSeq(state),
                        ReceivedSeq: claim.Seq));
                    return;
                case ProducerVerdict.Duplicate:
                    ReplyAfterCommits(Sender, new Appended(live.AssignedTail, live.ClosedAssigned, state, Duplicate: true));
                    return;
                case ProducerVerdict.Accept:
                    acceptedProducer = new ProducerState(claim.ProducerId, claim.Epoch, claim.Seq);
                    break;
            }
        }

        if (!live.OwnershipClaimed)
        {
            // Taken over from a manifest, or drained cleanly before a restart on this disk: publish a
            // manifest (not cleanly drained, current epoch) before acknowledging anything, so a crash
            // from here on makes the next owner bump the epoch.
            StartClaim(live);
            return;
        }

        if (append.StreamSeq is { } seq && live.LastStreamSeq is { } lastSeq && StreamSeq.Compare(seq, lastSeq) <= 0)
        {
            Sender.Tell(new StreamRejected(
                ErrorCode.StreamSeqRegression,
                $"Stream-Seq '{seq}' is not greater than the last one accepted"));
            return;
        }

        Accept(live, append, acceptedProducer);
    }

    private void Accept(LiveStream live, AppendToStream append, ProducerState? acceptedProducer)
    {
        var now = NowMs;
        var firstPosition = live.AssignedPosition;
        live.AssignedPosition += append.Records.Count;
        live.LastAccessMs = now;
        live.LastPersistedAccessMs = now;
        if (append.StreamSeq is not null)
        {
            live.LastStreamSeq = append.StreamSeq;
        }

        if (acceptedProducer is not null)
        {
            live.Producers[acceptedProducer.ProducerId] = acceptedProducer;
        }

        ProducerClaim? closedBy = null;
        if (append.Close)
        {
            live.ClosedAssigned = true;
            closedBy = append.Producer;
            live.ClosedBy = closedBy;
        }

        var commitNumber = commits.Issue();
        var incarnation = live.StreamId;
        var operation = new AppendOperation(
            live.StreamId,
            firstPosition,
            append.Records,
            now,
            append.Close,
            closedBy,
            append.StreamSeq,
            acceptedProducer);
        var reply = new Appended(live.AssignedTail, append.Close, acceptedProducer, Duplicate: false);
        var replyTo = Sender;
        var endPosition = live.AssignedPosition;
        var close = append.Close;
        var records = append.Records;
        var appendedBytes = records.Sum(record => (long)record.Length);
        var backlog = dependencies.Backlog;
        var self = Self;
        // Told from the writer thread right after the commit: no thread-pool hop per append.
        dependencies.WalWriter.Submit(operation, settled: exception =>
        {
            if (exception is null)
            {
                backlog.Add(appendedBytes);
                self.Tell(new AppendCommitted(incarnation, commitNumber, firstPosition, endPosition, records, close, replyTo, reply));
            }
            else
            {
                self.Tell(new AppendFailed(incarnation, commitNumber, exception, replyTo));
            }
        });
        UpdateReceiveTimeout();
    }

    /// <summary>
    /// Handles commit results in the order the appends were submitted. The writer commits in that
    /// order, but each result reaches this actor through its own thread-pool continuation, so two
    /// appends of one group commit can report in either order; acknowledged as they arrive, a client
    /// would see its later append acknowledged first, and a deferred reply overtake an earlier ack.
    /// </summary>
    /// <param name="serving">
    /// True in Ready. Only a stream being served wakes readers, re-arms passivation and reloads after a
    /// failure; while it is being deleted or is gone there is nothing to reconcile.
    /// </param>
    private void HandleCommitResult(long commitNumber, object result, bool serving)
    {
        foreach (var next in commits.Arrive(commitNumber, result))
        {
            if (next is AppendCommitted committed)
            {
                ApplyAppendCommitted(committed, serving);
            }
            else
            {
                ApplyAppendFailed((AppendFailed)next, serving);
            }
        }
    }

    private void ApplyAppendCommitted(AppendCommitted committed, bool serving)
    {
        var dueReplies = commits.Settle(committed.CommitNumber);
        // An incarnation deleted (or expired) since the append was issued: the sender still gets its
        // answer — the append was durable when acknowledged — but its positions mean nothing to the
        // stream now living under this name.
        var live = stream is { } current && current.StreamId == committed.Incarnation ? current : null;
        if (live is not null)
        {
            live.CommittedPosition = Math.Max(live.CommittedPosition, committed.EndPosition);
            live.ClosedCommitted |= committed.Closed;
            SignalTail(live, activity: true);
        }

        committed.ReplyTo.Tell(committed.Reply);
        SendDueReplies(dueReplies);
        if (!serving)
        {
            return;
        }

        if (live is not null)
        {
            WakeWaiters(live, committed);
        }

        // Accept disarmed the idle timer while this append was in flight.
        UpdateReceiveTimeout();
        ReloadIfRequested();
    }

    private void ApplyAppendFailed(AppendFailed failed, bool serving)
    {
        var dueReplies = commits.Settle(failed.CommitNumber);
        log.Error(failed.Exception, "Append to stream {0} failed to commit", streamName);
        failed.ReplyTo.Tell(new StreamRejected(ErrorCode.Unavailable, "the append could not be committed; retry"));
        // Positions assigned after the failed one no longer match the index; later appends in flight
        // fail their tail check. Once nothing is in flight, reload the truth from the index.
        if (serving && stream?.StreamId == failed.Incarnation)
        {
            reloadAfterInflight = true;
        }

        SendDueReplies(dueReplies);
        if (serving)
        {
            UpdateReceiveTimeout();
            ReloadIfRequested();
        }
    }

    private void ReloadIfRequested()
    {
        if (!reloadAfterInflight || commits.InFlight > 0)
        {
            return;
        }

        reloadAfterInflight = false;
        foreach (var waiter in waiters.TakeAll())
        {
            waiter.ReplyTo.Tell(new StreamRejected(ErrorCode.Unavailable, "the stream is recovering from a write failure; retry"));
            Timers.Cancel(waiter.TimerKey);
        }

        stream = null;
        StartLoading();
        Become(Loading);
    }

    // ---- Reads ---------------------------------------------------------------------------

    private void HandleRead(LiveStream live, ReadStream read)
    {
        long start;
        switch (read.Start.Kind)
        {
            case ReadStartKind.Beginning:
                start = 0;
                break;
            case ReadStartKind.Tail:
                start = live.CommittedPosition;
                break;
            default:
                if (!live.Epochs.TryResolve(read.Start.Offset, out start, out var resumeAt))
                {
                    Sender.Tell(new StreamRejected(
                        ErrorCode.OffsetInLostTail,
                        "the offset belongs to appends that were lost when the stream's previous owner stopped uncleanly",
                        NextOffset: live.Epochs.OffsetAt(resumeAt)));
                    return;
                }

                start = Math.Min(start, live.CommittedPosition);
                break;
        }

        Touch(live);

        if (start < live.CommittedPosition || live.ClosedCommitted || read.WaitFor is null)
        {
            StartRead(live, Sender, start, read.MaxBytes, timedOut: false);
            return;
        }

        var waiter = waiters.Park(Sender, start, read.MaxBytes);
        Timers.StartSingleTimer(waiter.TimerKey, new WaiterTimedOut(waiter.Id), read.WaitFor.Value);
        SetReceiveTimeout(null);
    }

    /// <param name="committed">
    /// The commit that woke them, when there is one: readers waiting inside its records are answered
    /// from them directly, with no read of the index.
    /// </param>
    private void WakeWaiters(LiveStream live, AppendCommitted? committed = null)
    {
        if (waiters.Count == 0)
        {
            return;
        }

        foreach (var waiter in waiters.TakeReadable(live.CommittedPosition, live.ClosedCommitted))
        {
            Timers.Cancel(waiter.TimerKey);
            if (committed is null || !TryAnswerFromCommit(live, waiter, committed))
            {
                StartRead(live, waiter.ReplyTo, waiter.StartPosition, waiter.MaxBytes, timedOut: false);
            }
        }

        UpdateReceiveTimeout();
    }

    /// <summary>
    /// Answers a woken reader with the records of the commit that woke it, when that commit is the
    /// stream's committed end and the reader waits inside it (a reader at the tail always does). The
    /// records are exactly what a read of the index would return: they are durable, in position order,
    /// and nothing was committed after them. False when the reader must read the index instead.
    /// </summary>
    private static bool TryAnswerFromCommit(LiveStream live, Waiter waiter, AppendCommitted committed)
    {
        var end = live.CommittedPosition;
        if (committed.EndPosition != end || waiter.StartPosition < committed.FirstPosition || waiter.StartPosition >= end)
        {
            return false;
        }

        var payloads = new List<ReadOnlyMemory<byte>>();
        long bytes = 0;
        for (var index = (int)(waiter.StartPosition - committed.FirstPosition); index < committed.Records.Count; index++)
        {
            var record = committed.Records[index];
            // The same budget as a read of the index: the first record always, then while it fits.
            if (payloads.Count > 0 && bytes + record.Length > waiter.MaxBytes)
            {
                break;
            }

            payloads.Add(record);
            bytes += record.Length;
        }

        var next = waiter.StartPosition + payloads.Count;
        var closed = live.ClosedCommitted;
        waiter.ReplyTo.Tell(new ReadCompleted(
            live.View(),
            live.Epochs.OffsetAt(waiter.StartPosition),
            live.Epochs.OffsetAt(next),
            payloads,
            UpToDate: next >= end,
            Closed: closed && next >= end,
            TimedOut: false));
        return true;
    }

    private void HandleWaiterTimedOut(WaiterTimedOut timedOut)
    {
        if (waiters.TakeTimedOut(timedOut.WaiterId) is not { } waiter)
        {
            return;
        }

        StartRead(stream!, waiter.ReplyTo, waiter.StartPosition, waiter.MaxBytes, timedOut: true);
        UpdateReceiveTimeout();
    }

    /// <summary>Reads committed records off the actor thread and answers the reader directly.</summary>
    private void StartRead(LiveStream live, IActorRef replyTo, long start, long maxBytes, bool timedOut)
    {
        var view = live.View();
        var end = live.CommittedPosition;
        var closed = live.ClosedCommitted;
        var epochs = live.Epochs;
        var from = epochs.OffsetAt(start);
        if (start >= end)
        {
            replyTo.Tell(new ReadCompleted(view, from, from, [], UpToDate: true, Closed: closed, TimedOut: timedOut));
            return;
        }

        var reader = RecordReader;
        var lineage = live.Lineage;
        Task.Run(async () =>
            {
                // A fork's positions below its fork position are its source's records.
                var records = await lineage.ReadAsync(reader, start, end, maxBytes, CancellationToken.None);
                var next = start + records.Count;
                var payloads = new ReadOnlyMemory<byte>[records.Count];
                for (var i = 0; i < records.Count; i++)
                {
                    payloads[i] = records[i].Payload;
                }

                return new ReadCompleted(
                    view,
                    from,
                    epochs.OffsetAt(next),
                    payloads,
                    UpToDate: next >= end,
                    Closed: closed && next >= end,
                    TimedOut: false);
            })
            .PipeTo(replyTo, failure: exception => new StreamRejected(ErrorCode.Unavailable, $"the read failed: {exception.Message}"));
    }

    // ---- TTL, delete, passivation ----------------------------------------------------------

    private void Touch(LiveStream live)
    {
        var now = NowMs;
        live.LastAccessMs = now;
        var interval = (long)dependencies.Settings.TouchPersistInterval.TotalMilliseconds;
        if (live.TtlMilliseconds is { } ttl)
        {
            // Persist at least four times per TTL so a restart cannot shorten the window by more than a quarter.
            interval = Math.Min(interval, ttl / 4);
        }

        if (now - live.LastPersistedAccessMs >= interval)
        {
            live.LastPersistedAccessMs = now;
            _ = dependencies.WalWriter.Submit(new TouchStreamOperation(live.StreamId, now));
        }
    }

    private void ExpireThenRetry(LiveStream live)
    {
        // Handle the triggering message again once the expired incarnation is gone: a PUT then
        // creates a fresh stream, anything else answers 404.
        Stash.Stash();
        StartDelete(live, replyTo: null);
    }

    private void StartDelete(LiveStream live, IActorRef? replyTo)
    {
        foreach (var waiter in waiters.TakeAll())
        {
            Timers.Cancel(waiter.TimerKey);
            waiter.ReplyTo.Tell(NotFound());
        }

        if (dependencies.Cluster is not null)
        {
            StartClusterDelete(live, replyTo);
            return;
        }

        // A stream that forks still read through is only soft-deleted; the writer decides, so that a
        // fork being created at the same moment cannot lose its source.
        var removal = new RemoveUnlessForkedOperation(live.StreamId);
        dependencies.WalWriter.Submit(removal).PipeTo(
            Self,
            // The operation has completed here, so its tombstone generation is set.
            success: result => result == StreamRemoval.SoftDeleted
                ? new StreamSoftDeleted(replyTo)
                : new StreamRemoved(removal.TombstoneGeneration, replyTo),
            failure: exception => new WriteFailed(exception, replyTo));
        BecomeWaitingForWrite();
    }

    private void ReportDetails(LiveStream live, IActorRef replyTo)
    {
        var queries = dependencies.Queries;
        var view = live.View();
        var epochs = live.Epochs;
        var streamId = live.StreamId;
        var liveReaders = waiters.Count;
        Task.Run(() =>
            {
                var details = queries.LoadDetails(streamId);
                return details is null
                    ? (object)new StreamRejected(ErrorCode.StreamNotFound, "the stream no longer exists")
                    : new StreamDetailsReported(
                        view,
                        epochs.OffsetAt(details.SealedThrough),
                        epochs.OffsetAt(details.UploadedThrough),
                        details.SegmentCount,
                        details.UploadedSegmentCount,
                        details.PendingRows,
                        details.PendingBytes,
                        details.ManifestGeneration,
                        details.LastUploadAtMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
                        details.LastUploadError,
                        details.Restored) { LiveReaders = liveReaders };
            })
            .PipeTo(replyTo, failure: exception => new StreamRejected(ErrorCode.Unavailable, exception.Message));
    }

    private void RequestPassivation()
    {
        SetReceiveTimeout(null);
        AskToStop();
    }

    private void UpdateReceiveTimeout() =>
        SetReceiveTimeout(waiters.Count == 0 && commits.InFlight == 0 ? dependencies.Settings.PassivateAfter : null);

    /// <summary>
    /// Replies that describe state other appends may still be committing (duplicates, HEAD, an
    /// idempotent PUT) wait until everything issued so far is durable.
    /// </summary>
    private void ReplyAfterCommits(IActorRef replyTo, object reply)
    {
        if (commits.InFlight > 0 && commits.DeferredReplies >= dependencies.Settings.MaxDeferredRepliesPerStream)
        {
            // Bounded: a stream whose commits stall must not collect replies without limit.
            replyTo.Tell(Limits.Refusal("deferred-replies-per-stream"));
            return;
        }

        if (commits.ReplyNowOrDefer(replyTo, reply))
        {
            replyTo.Tell(reply);
        }
    }

    private static void SendDueReplies(List<(IActorRef ReplyTo, object Reply)> dueReplies)
    {
        foreach (var (replyTo, reply) in dueReplies)
        {
            replyTo.Tell(reply);
        }
    }

    private static ProducerState? ProducerOf(LiveStream live, ProducerClaim claim) =>
        live.Producers.TryGetValue(claim.ProducerId, out var state) ? state : new ProducerState(claim.ProducerId, claim.Epoch, claim.Seq);

    private StreamRejected NotFound() => new(ErrorCode.StreamNotFound, $"stream '{streamName}' does not exist");

    // ---- private messages ------------------------------------------------------------------

    private sealed record Loaded(StreamRow? Row);

    private sealed record LoadFailed(Exception Exception);

    private sealed record StreamStored(StreamRow Row, IActorRef ReplyTo);

    private sealed record StreamRemoved(long TombstoneGeneration, IActorRef? ReplyTo);

    private sealed record WriteFailed(Exception Exception, IActorRef? ReplyTo);

    /// <summary><paramref name="Incarnation"/>: the stream id the append was written to.</summary>
    /// <summary><paramref name="Records"/>: the appended records, from <paramref name="FirstPosition"/> to <paramref name="EndPosition"/>.</summary>
    private sealed record AppendCommitted(
        long Incarnation, long CommitNumber, long FirstPosition, long EndPosition, IReadOnlyList<byte[]> Records, bool Closed, IActorRef ReplyTo, object Reply);

    private sealed record AppendFailed(long Incarnation, long CommitNumber, Exception Exception, IActorRef ReplyTo);

    private sealed record WaiterTimedOut(long WaiterId);
}
