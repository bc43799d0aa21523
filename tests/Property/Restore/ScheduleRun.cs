using System.Globalization;
using System.Text;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Protocol;
using Streams.Actors.Restore;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// Runs one schedule against a real node and the list model side by side, in a temp directory of
/// its own: each operation's reply must be the one the model predicts, and after every step every
/// read must return exactly the model's records and offsets (<see cref="ReadChecker"/>).
/// </summary>
internal sealed class ScheduleRun : IAsyncDisposable
{
    private const int InitialRecordBytes = 8;

    private readonly Schedule schedule;
    private readonly string root;
    private readonly CrashingObjectStore objectStore;
    private readonly StreamModel[] models;
    private readonly StreamsSettings settings;
    private readonly ScheduleClock clock = new(DateTimeOffset.UtcNow);
    private EngineNode? node;
    private int disks;
    private int recordsMade;

    private ScheduleRun(Schedule schedule)
    {
        this.schedule = schedule;
        root = Path.Combine(Path.GetTempPath(), "streams-equivalence-" + Guid.NewGuid().ToString("N"));
        // Outside every data directory: the object store outlives the disks of the nodes.
        objectStore = new CrashingObjectStore(new FileSystemObjectStore(Path.Combine(root, "objects")));
        models = [.. schedule.Names.Select(name => new StreamModel(name))];
        settings = EngineNode.SettingsFor(schedule.Tuning);
    }

    private EngineNode Node => node ?? throw new InvalidOperationException("the node is not running");

    public static async Task RunAsync(Schedule schedule)
    {
        Coverage.CaseRun(schedule.Ops.Count);
        await using var run = new ScheduleRun(schedule);
        run.node = await EngineNode.StartAsync(run.NewDisk(), run.objectStore, schedule.FirstMode, run.settings, run.clock);
        for (var step = 0; step < schedule.Ops.Count; step++)
        {
            var op = schedule.Ops[step];
            try
            {
                var node = run.Node;
                if (op is SealOp or PublishOp || (op is CompactOp && run.EveryLiveStreamIsLocal()))
                {
                    // Sealing, publishing and compacting move records between tiers without changing
                    // what a read returns, so reads racing with them must see exactly the model too.
                    // (Not while a compaction runs if a read could hydrate an evicted stream then: the
                    // step could not tell whether the round merged it.)
                    await Task.WhenAll(run.ApplyAsync(op), new ReadChecker(node, schedule.Tuning.MaxReadBytes).CheckAsync(run.models));
                }
                else
                {
                    await run.ApplyAsync(op);
                }

                await new ReadChecker(run.Node, schedule.Tuning.MaxReadBytes).CheckAsync(run.models);
            }
            catch (Exception exception)
            {
                throw new ReadEquivalenceViolation(run.Report(step, op, exception));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (node is not null)
        {
            await node.StopAsync();
            node = null;
        }

        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private string NewDisk() => Path.Combine(root, $"disk-{++disks}");

    private bool EveryLiveStreamIsLocal() => models.Where(model => model.Presence == Presence.Live).All(model => Node.Database.LoadStream(model.Name) is not null);

    private Task ApplyAsync(ScheduleOp op) =>
        op switch
        {
            CreateOp create => CreateAsync(create),
            AppendOp append => AppendAsync(append),
            CloseOp close => CloseAsync(close),
            SealOp => SealAsync(),
            PublishOp => PublishAsync(),
            CompactOp compact => CompactAsync(compact),
            IdleOp idle => IdleAsync(idle),
            RestartOp restart => RestartAsync(restart),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown operation"),
        };

    private async Task CreateAsync(CreateOp op)
    {
        var model = models[op.Stream];
        var count = op.Json ? op.InitialRecords : Math.Min(op.InitialRecords, 1);
        var records = Enumerable.Range(0, count).Select(_ => MakeRecord(op.Json, InitialRecordBytes)).ToList();
        var contentType = op.Json ? ContentTypes.Json : ContentTypes.Default;
        var reply = await Node.AskAsync(new CreateStream(model.Name, contentType, null, null, Closed: false, records));

        if (model.Presence == Presence.RemoteOnly)
        {
            // A PUT on a name the node does not know asks the object store first: the stream is restored, not replaced.
            model.RestoreFromManifest();
        }

        if (model.Presence == Presence.Absent)
        {
            var created = Expect<StreamCreated>(reply, "create");
            Require(created.Created, "create: expected a new stream");
            model.CreateNew(op.Json, records);
            CheckView(model, created.Stream, "create");
            model.RecordHandedOut(created.Stream.Tail, model.Count, "create");
        }
        else if (model.Json == op.Json && !model.Closed)
        {
            var existing = Expect<StreamCreated>(reply, "create of an existing stream");
            Require(!existing.Created, "create of an existing stream: reported as new");
            CheckView(model, existing.Stream, "create of an existing stream");
        }
        else
        {
            ExpectRejection(reply, ErrorCode.StreamAlreadyExistsWithDifferentConfig, "create with another configuration");
        }
    }

    private async Task AppendAsync(AppendOp op)
    {
        if (op.Producer is not null || op.Seq is not null)
        {
            await AppendOneAtATimeAsync(op);
            return;
        }

        var model = models[op.Stream];
        var json = model.Presence == Presence.Live && model.Json;
        var contentType = json ? ContentTypes.Json : ContentTypes.Default;
        var bodies = Bodies(json, op.Sizes);
        // All sent before any answer: the owner assigns positions in arrival order while earlier
        // appends are still committing, and the WAL writer may commit several in one transaction.
        var replies = await Task.WhenAll(bodies.Select(records =>
            Node.AskAsync(new AppendToStream(model.Name, contentType, records, Close: false, StreamSeq: null, Producer: null))));
        foreach (var (records, reply) in bodies.Zip(replies))
        {
            CheckAppend(model, records, reply, claim: null, streamSeq: null);
        }
    }

    /// <summary>
    /// Requests with producer headers or a Stream-Seq, one at a time: each one's headers are chosen
    /// from what the model says the stream accepted before it.
    /// </summary>
    private async Task AppendOneAtATimeAsync(AppendOp op)
    {
        var model = models[op.Stream];
        var json = model.Presence == Presence.Live && model.Json;
        var contentType = json ? ContentTypes.Json : ContentTypes.Default;
        foreach (var records in Bodies(json, op.Sizes))
        {
            var claim = op.Producer is { } step ? ClaimFor(model, step) : null;
            var streamSeq = op.Seq is { } seqStep ? StreamSeqFor(model, seqStep) : null;
            var reply = await Node.AskAsync(new AppendToStream(model.Name, contentType, records, Close: false, streamSeq, claim));
            CheckAppend(model, records, reply, claim, streamSeq);
        }
    }

    private void CheckAppend(StreamModel model, List<byte[]> records, object reply, ProducerClaim? claim, string? streamSeq)
    {
        var context = "append" + (claim is { } c ? $" as {c.ProducerId} e{c.Epoch} s{c.Seq}" : string.Empty) + (streamSeq is { } seq ? $" with Stream-Seq {seq}" : string.Empty);
        switch (model.Presence)
        {
            case Presence.Absent or Presence.RemoteOnly:
                ExpectRejection(reply, ErrorCode.StreamNotFound, context);
                return;
            case Presence.Live when model.Closed:
                var rejected = ExpectRejection(reply, ErrorCode.StreamClosed, $"{context} to a closed stream");
                Require(rejected.NextOffset == model.Tail, $"{context} to a closed stream: tail {rejected.NextOffset}, expected {model.Tail}");
                return;
        }

        ModelProducer? accepted = null;
        if (claim is not null)
        {
            var state = model.Producer(claim.ProducerId);
            if (state is not null && model.IsFromEarlierIncarnation(claim.ProducerId))
            {
                Coverage.ProducerStateCarriedOver();
            }

            // The idempotent-producer rules, stated afresh: epochs fence, seqs deduplicate and must not skip.
            if (state is null && claim.Seq != 0)
            {
                ExpectProducerRejection(reply, ErrorCode.ProducerSeqGap, context, expectedSeq: 0, receivedSeq: claim.Seq);
                return;
            }

            if (state is not null && claim.Epoch < state.Epoch)
            {
                var stale = ExpectRejection(reply, ErrorCode.ProducerEpochStale, context);
                Require(stale.ProducerEpoch == state.Epoch, $"{context}: reports epoch {stale.ProducerEpoch}, expected {state.Epoch}");
                Coverage.ProducerRejected();
                return;
            }

            if (state is not null && claim.Epoch > state.Epoch && claim.Seq != 0)
            {
                ExpectProducerRejection(reply, ErrorCode.ProducerEpochRequiresSeqZero, context, expectedSeq: null, receivedSeq: null);
                return;
            }

            if (state is not null && claim.Epoch == state.Epoch && claim.Seq <= state.Seq)
            {
                var duplicate = Expect<Appended>(reply, $"{context}, a retry");
                Require(duplicate.Duplicate, $"{context}, a retry: not reported as a duplicate");
                Require(duplicate.NextOffset == model.Tail, $"{context}, a retry: next offset {duplicate.NextOffset}, expected {model.Tail}");
                Require(SameProducer(duplicate.Producer, state), $"{context}, a retry: producer {duplicate.Producer}, expected {state}");
                model.RecordHandedOut(duplicate.NextOffset, model.Count, context);
                Coverage.ProducerDuplicate();
                return;
            }

            if (state is not null && claim.Epoch == state.Epoch && claim.Seq > state.Seq + 1)
            {
                ExpectProducerRejection(reply, ErrorCode.ProducerSeqGap, context, expectedSeq: state.Seq + 1, receivedSeq: claim.Seq);
                return;
            }

            accepted = new ModelProducer(claim.ProducerId, claim.Epoch, claim.Seq);
        }

        // Past the producer checks the owner claims the stream (if it must) before anything else.
        model.ClaimIfNeeded();
        if (streamSeq is not null && model.LastStreamSeq is { } last && string.CompareOrdinal(streamSeq, last) <= 0)
        {
            ExpectRejection(reply, ErrorCode.StreamSeqRegression, context);
            Coverage.StreamSeqRejected();
            return;
        }

        var appended = Expect<Appended>(reply, context);
        model.Append(records, accepted, streamSeq);
        Require(appended.NextOffset == model.Tail, $"{context}: next offset {appended.NextOffset}, expected {model.Tail}");
        Require(!appended.Closed && !appended.Duplicate, $"{context}: reported closed or duplicate");
        Require(accepted is null ? appended.Producer is null : SameProducer(appended.Producer, accepted), $"{context}: producer {appended.Producer}, expected {accepted}");
        model.RecordHandedOut(appended.NextOffset, model.Count, context);
    }

    private static void ExpectProducerRejection(object reply, ErrorCode code, string context, long? expectedSeq, long? receivedSeq)
    {
        var rejected = ExpectRejection(reply, code, context);
        Require(rejected.ExpectedSeq == expectedSeq && rejected.ReceivedSeq == receivedSeq, $"{context}: expected seq {rejected.ExpectedSeq}, received {rejected.ReceivedSeq}; expected {expectedSeq} and {receivedSeq}");
        Coverage.ProducerRejected();
    }

    private static bool SameProducer(ProducerState? actual, ModelProducer expected) =>
        actual is not null && actual.ProducerId == expected.Id && actual.Epoch == expected.Epoch && actual.LastSeq == expected.Seq;

    /// <summary>The producer headers a step sends, relative to the producer's state in the model (none yet: epoch 0, next seq 0).</summary>
    private static ProducerClaim ClaimFor(StreamModel model, ProducerStep step)
    {
        var id = ProducerStep.ProducerId(step.Producer);
        var state = model.Producer(id);
        var (epoch, seq) = state is null ? (0L, -1L) : (state.Epoch, state.Seq);
        return step.Move switch
        {
            ProducerMove.Next => new ProducerClaim(id, epoch, seq + 1),
            ProducerMove.Retry => new ProducerClaim(id, epoch, Math.Max(seq, 0)),
            ProducerMove.Gap => new ProducerClaim(id, epoch, seq + 2),
            ProducerMove.NewEpoch => new ProducerClaim(id, epoch + 1, 0),
            ProducerMove.NewEpochSeqNotZero => new ProducerClaim(id, epoch + 1, 1),
            ProducerMove.StaleEpoch => new ProducerClaim(id, Math.Max(epoch - 1, 0), seq + 1),
            _ => throw new ArgumentOutOfRangeException(nameof(step), step, "unknown producer move"),
        };
    }

    /// <summary>Stream-Seq values are fixed-width decimal numbers, so their byte order is their numeric order.</summary>
    private static string StreamSeqFor(StreamModel model, StreamSeqStep step)
    {
        var last = model.LastStreamSeq;
        return step switch
        {
            StreamSeqStep.Repeat => last ?? FormatStreamSeq(0),
            _ => FormatStreamSeq(last is null ? 1 : long.Parse(last, CultureInfo.InvariantCulture) + 1),
        };
    }

    private static string FormatStreamSeq(long value) => value.ToString("D8", CultureInfo.InvariantCulture);

    private async Task CloseAsync(CloseOp op)
    {
        var model = models[op.Stream];
        var reply = await Node.AskAsync(new AppendToStream(model.Name, null, [], Close: true, StreamSeq: null, Producer: null));
        if (model.Presence != Presence.Live)
        {
            ExpectRejection(reply, ErrorCode.StreamNotFound, "close");
            return;
        }

        if (!model.Closed)
        {
            model.ClaimIfNeeded();
            model.Close();
        }

        var closed = Expect<Appended>(reply, "close");
        Require(closed.Closed, "close: not reported closed");
        Require(closed.NextOffset == model.Tail, $"close: next offset {closed.NextOffset}, expected {model.Tail}");
        model.RecordHandedOut(closed.NextOffset, model.Count, "close");
    }

    private async Task SealAsync()
    {
        var waiting = models.Count(model => model.HasUnsealed);
        var (sealedAll, published) = await Node.SealAsync();
        Require(sealedAll.Error is null, $"seal: the round failed: {sealedAll.Error}");
        Require(sealedAll.StreamsSealed == waiting, $"seal: {sealedAll.StreamsSealed} streams sealed, expected {waiting}");
        foreach (var model in models.Where(model => model.Presence == Presence.Live))
        {
            model.Seal();
        }

        if (published is not null)
        {
            // The seal started an upload round, and it published everything behind.
            ApplyUploadRound(layoutChanged: new HashSet<string>());
            RequireNothingLeft(published, "the upload round a seal started");
        }
    }

    private async Task PublishAsync()
    {
        var behind = ApplyUploadRound(layoutChanged: new HashSet<string>());
        var published = await Node.PublishAsync();
        Require(published.Error is null && published.Failed == 0, $"upload tick: {published}");
        Require(published.Published == behind, $"upload tick: {published.Published} streams published, expected {behind}");
    }

    /// <summary>The model's side of a non-draining upload round; yields how many streams it publishes.</summary>
    private int ApplyUploadRound(IReadOnlySet<string> layoutChanged)
    {
        var behind = models.Where(model => model.BehindForUploader(layoutChanged.Contains(model.Name))).ToList();
        foreach (var model in behind)
        {
            model.Publish(draining: false);
        }

        return behind.Count;
    }

    private static void RequireNothingLeft(PipelineMessages.AllPublished published, string context) =>
        Require(
            published.Error is null && published.Failed == 0 && published.Published == 0,
            $"{context}: a later round still found work or failed: {published}");

    private async Task CompactAsync(CompactOp op)
    {
        await CompactionRoundAsync();
        if (op.AfterQuiet)
        {
            // The streams the round just saw are quiet by the next one, and whatever compactions
            // replaced before is past its deletion grace.
            var compaction = settings.Compaction;
            clock.Advance((compaction.QuietAfter > compaction.DeletionGrace ? compaction.QuietAfter : compaction.DeletionGrace) + TimeSpan.FromSeconds(1));
            await CompactionRoundAsync();
        }
    }

    private async Task CompactionRoundAsync()
    {
        var before = models.ToDictionary(model => model.Name, model => (Row: Node.Database.LoadStream(model.Name)?.StreamId, Segments: Node.SegmentCount(model.Name)));
        var (compacted, published) = await Node.CompactAsync();
        Require(compacted.Error is null && compacted.Failed == 0, $"compaction: {compacted}");
        var merged = models
            .Where(model => before[model.Name].Row is { } id && Node.Database.LoadStream(model.Name)?.StreamId == id && Node.SegmentCount(model.Name) < before[model.Name].Segments)
            .Select(model => model.Name)
            .ToHashSet();
        Require((compacted.SegmentsRemoved > 0) == (merged.Count > 0), $"compaction: {compacted.SegmentsRemoved} segments removed, but fewer segments in {merged.Count} streams");
        Coverage.Compacted(compacted.SegmentsRemoved);
        if (published is not null)
        {
            // The compaction started an upload round: the new layouts, and anything else behind.
            ApplyUploadRound(merged);
            RequireNothingLeft(published, "the upload round a compaction started");
        }
    }

    private async Task IdleAsync(IdleOp op)
    {
        var model = models[op.Stream];
        await Node.IdleAsync(model.Name);
        if (Node.Mode == RestoreMode.Lazy && model.EvictableWhenIdle)
        {
            // Evicted: the next touch (the check's reads at the latest) hydrates it from its manifest.
            model.RestoreFromManifest();
        }
    }

    private async Task RestartAsync(RestartOp op)
    {
        var stopping = Node;
        switch (op.Stop)
        {
            case StopKind.Drain:
                await stopping.DrainAsync();
                foreach (var model in models.Where(model => model.Presence == Presence.Live))
                {
                    model.Seal();
                    model.Publish(draining: true);
                }

                break;
            case StopKind.CrashWhilePublishing:
                await CrashWhilePublishingAsync(stopping);
                break;
        }

        node = null;
        await stopping.StopAsync();
        var dataDirectory = stopping.DataDirectory;
        if (op.LoseDisk)
        {
            Directory.Delete(dataDirectory, recursive: true);
            // A new path too: nothing of the old node's files or connections can leak into the new one.
            dataDirectory = NewDisk();
        }

        node = await EngineNode.StartAsync(dataDirectory, objectStore, op.Mode, settings, clock);
        foreach (var model in models)
        {
            model.Restart(op.LoseDisk, op.Mode);
        }
    }

    /// <summary>
    /// A drain that dies in its publish round: everything is sealed (and the round that starts
    /// published), then every manifest the drain puts reaches the store and the node dies before
    /// recording it locally.
    /// </summary>
    private async Task CrashWhilePublishingAsync(EngineNode stopping)
    {
        await stopping.BeginDrainAsync();
        await SealAsync();
        var draining = models.Where(model => model.BehindForUploader(layoutChanged: false) || model is { Presence: Presence.Live, LocallyPublished.DrainedClean: false }).ToList();
        objectStore.CrashAfterManifestPut = true;
        try
        {
            var published = await stopping.PublishDrainingAsync();
            Require(published.Published == 0 && published.Failed == draining.Count, $"crash while publishing: {published}, expected {draining.Count} failed publishes");
            foreach (var model in draining)
            {
                model.PublishToStoreOnly(draining: true);
            }
        }
        finally
        {
            objectStore.CrashAfterManifestPut = false;
        }
    }

    /// <summary>The request bodies of an append, already split into records as the HTTP layer splits them.</summary>
    private List<List<byte[]>> Bodies(bool json, IReadOnlyList<int> sizes)
    {
        var values = sizes.Select(size => MakeRecord(json, size)).ToList();
        if (!json)
        {
            return [.. values.Select(value => new List<byte[]> { value })];
        }

        var body = values.Count == 1
            ? values[0]
            : Encoding.UTF8.GetBytes("[" + string.Join(", ", values.Select(value => Encoding.UTF8.GetString(value))) + "]");
        Require(JsonMessages.TrySplit(body, out var records), "the generated JSON body does not parse");
        Require(records.Count == values.Count && records.Zip(values).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second)), "the JSON body splits into other records than were generated");
        return [records];
    }

    /// <summary>Every record is different from every other one of the run, so a record served at the wrong offset shows.</summary>
    private byte[] MakeRecord(bool json, int size)
    {
        var id = ++recordsMade;
        var filler = (char)('a' + (id % 26));
        if (json)
        {
            return Encoding.UTF8.GetBytes($"{{\"r\":{id.ToString(CultureInfo.InvariantCulture)},\"p\":\"{new string(filler, size)}\"}}");
        }

        var tag = Encoding.UTF8.GetBytes($"r{id.ToString(CultureInfo.InvariantCulture)}:");
        var record = new byte[Math.Max(size, tag.Length)];
        Array.Fill(record, (byte)filler);
        tag.CopyTo(record, 0);
        return record;
    }

    private string Report(int step, ScheduleOp op, Exception exception)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Step {step + 1} ({op}): {exception.GetType().Name}: {exception.Message}");
        text.Append("\nModel after the step:");
        foreach (var model in models)
        {
            text.Append("\n  ").Append(model);
        }

        text.Append('\n').Append(schedule);
        if (exception is not ReadEquivalenceViolation)
        {
            text.Append('\n').Append(exception);
        }

        return text.ToString();
    }

    internal static void CheckView(StreamModel model, StreamView view, string context)
    {
        Require(view.Tail == model.Tail, $"{context}: the stream's tail is {view.Tail}, expected {model.Tail}");
        Require(view.Closed == model.Closed, $"{context}: the stream is {(view.Closed ? "closed" : "open")}, expected {(model.Closed ? "closed" : "open")}");
        Require(ContentTypes.SameMediaType(view.ContentType, model.ContentType), $"{context}: content type {view.ContentType}, expected {model.ContentType}");
    }

    internal static T Expect<T>(object reply, string context)
        where T : class =>
        reply as T ?? throw new ReadEquivalenceViolation($"{context}: expected {typeof(T).Name}, got {reply}");

    internal static StreamRejected ExpectRejection(object reply, ErrorCode code, string context)
    {
        var rejected = Expect<StreamRejected>(reply, context);
        Require(rejected.Code == code, $"{context}: expected {code}, got {rejected}");
        return rejected;
    }

    internal static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ReadEquivalenceViolation(message);
        }
    }
}
