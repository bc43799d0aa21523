using System.Globalization;
using System.Text;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
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
    private EngineNode? node;
    private int disks;
    private int recordsMade;

    private ScheduleRun(Schedule schedule)
    {
        this.schedule = schedule;
        root = Path.Combine(Path.GetTempPath(), "streams-equivalence-" + Guid.NewGuid().ToString("N"));
        // Outside every data directory: the object store outlives the disks of the nodes.
        objectStore = new CrashingObjectStore(new FileSystemObjectStore(Path.Combine(root, "objects")));
        models = [.. Enumerable.Range(0, Schedule.StreamCount).Select(index => new StreamModel(index))];
        settings = EngineNode.SettingsFor(schedule.Tuning);
    }

    private EngineNode Node => node ?? throw new InvalidOperationException("the node is not running");

    public static async Task RunAsync(Schedule schedule)
    {
        await using var run = new ScheduleRun(schedule);
        run.node = await EngineNode.StartAsync(run.NewDisk(), run.objectStore, schedule.FirstMode, run.settings);
        for (var step = 0; step < schedule.Ops.Count; step++)
        {
            var op = schedule.Ops[step];
            try
            {
                var node = run.Node;
                if (op is SealOp or PublishOp)
                {
                    // Sealing and publishing move records between tiers without changing what a read
                    // returns, so reads racing with them must see exactly the model too.
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

    private Task ApplyAsync(ScheduleOp op) =>
        op switch
        {
            CreateOp create => CreateAsync(create),
            AppendOp append => AppendAsync(append),
            CloseOp close => CloseAsync(close),
            SealOp => SealAsync(),
            PublishOp publish => PublishAsync(publish),
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
            switch (model.Presence)
            {
                case Presence.Absent or Presence.RemoteOnly:
                    ExpectRejection(reply, ErrorCode.StreamNotFound, "append");
                    break;
                case Presence.Live when model.Closed:
                    var rejected = ExpectRejection(reply, ErrorCode.StreamClosed, "append to a closed stream");
                    Require(rejected.NextOffset == model.Tail, $"append to a closed stream: tail {rejected.NextOffset}, expected {model.Tail}");
                    break;
                default:
                    model.ClaimIfNeeded();
                    var appended = Expect<Appended>(reply, "append");
                    model.Append(records);
                    Require(appended.NextOffset == model.Tail, $"append: next offset {appended.NextOffset}, expected {model.Tail}");
                    Require(!appended.Closed && !appended.Duplicate, "append: reported closed or duplicate");
                    model.RecordHandedOut(appended.NextOffset, model.Count, "append");
                    break;
            }
        }
    }

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
        await Node.SealAllAsync();
        foreach (var model in models.Where(model => model.Presence == Presence.Live))
        {
            model.Seal();
        }
    }

    private async Task PublishAsync(PublishOp op)
    {
        if (op.SealFirst)
        {
            await SealAsync();
        }

        foreach (var model in op.Streams.Distinct().Select(stream => models[stream]))
        {
            var row = Node.Database.LoadStream(model.Name);
            if (model.Presence != Presence.Live)
            {
                Require(row is null, $"publish: the node has a local row for {model.Name}, which the model holds {model.Presence}");
                continue;
            }

            Require(row is not null, $"publish: the node has no local row for live stream {model.Name}");
            Require(await Node.Publisher.PublishAsync(row!.StreamId, draining: false, CancellationToken.None), $"publish: {model.Name} vanished");
            model.Publish(draining: false);
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

        node = await EngineNode.StartAsync(dataDirectory, objectStore, op.Mode, settings);
        foreach (var model in models)
        {
            model.Restart(op.LoseDisk, op.Mode);
        }
    }

    /// <summary>Publishes every live stream; each publish dies right after its manifest reached the store.</summary>
    private async Task CrashWhilePublishingAsync(EngineNode stopping)
    {
        objectStore.CrashAfterManifestPut = true;
        try
        {
            foreach (var model in models.Where(model => model.Presence == Presence.Live))
            {
                var row = stopping.Database.LoadStream(model.Name);
                Require(row is not null, $"crash while publishing: the node has no local row for live stream {model.Name}");
                try
                {
                    await stopping.Publisher.PublishAsync(row!.StreamId, draining: false, CancellationToken.None);
                    throw new ReadEquivalenceViolation($"crash while publishing: the publish of {model.Name} did not put a manifest");
                }
                catch (SimulatedCrashException)
                {
                    model.PublishToStoreOnly(draining: false);
                }
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
