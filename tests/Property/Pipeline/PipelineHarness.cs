using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Streams.Tests.Support;

namespace Streams.Tests.Property.Pipeline;

/// <summary>
/// The real pipeline classes (WAL writer, sealer, publisher, tiered reader) on real SQLite in a temp
/// directory, with a flaky object store in front of a local-directory store, plus the plain-list
/// model of what every stream holds. Applies the steps of a <see cref="PipelineSchedule"/>.
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    private const int MaxOperationsPerCommit = 64;
    private const int BlockBytes = 256;
    private static readonly TimeSpan InjectedTimeout = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan NeverAged = TimeSpan.FromDays(365);

    private readonly string root;
    private readonly string dataDirectory;
    private readonly ScriptedFaults faults = new();
    private readonly long cacheBudgetBytes;
    private StreamDatabase database;
    private WalWriter walWriter;
    private PipelineQueries queries;
    private SegmentStore segments;
    private ManifestPublisher publisher;
    private TieredRecordReader reader;
    private long nowMs = 1_700_000_000_000;

    public PipelineHarness(PipelineSchedule schedule)
    {
        root = Path.Combine(Path.GetTempPath(), "streams-pipeline-property-" + Guid.NewGuid().ToString("N"));
        dataDirectory = Path.Combine(root, "data");
        cacheBudgetBytes = schedule.CacheBudgetBytes;
        Objects = new FileSystemObjectStore(Path.Combine(root, "objects"));
        Store = new FlakyObjectStore(Objects, faults.Next, InjectedTimeout);
        Files = new SegmentFiles(dataDirectory);
        (database, walWriter, queries, segments, publisher, reader) = Open();
        Names = [.. Enumerable.Range(0, schedule.StreamCount).Select(i => $"pipeline/{i}/ü")];
        Model = [.. Enumerable.Range(0, schedule.StreamCount).Select(_ => new List<byte[]>())];
        StreamIds = new long[schedule.StreamCount];
    }

    /// <summary>The store behind the faults: what a restoring node would find.</summary>
    public FileSystemObjectStore Objects { get; }

    public FlakyObjectStore Store { get; }

    public SegmentFiles Files { get; }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Every record each stream was acknowledged, in order.</summary>
    public IReadOnlyList<List<byte[]>> Model { get; }

    public long[] StreamIds { get; }

    public StreamDatabase Database => database;

    public PipelineQueries Queries => queries;

    public TieredRecordReader Reader => reader;

    public async Task CreateStreamsAsync()
    {
        for (var i = 0; i < Names.Count; i++)
        {
            var row = new StreamRow { Name = Names[i], ContentType = ContentTypes.Default, CreatedAtMs = nowMs, LastAccessMs = nowMs };
            StreamIds[i] = await walWriter.Submit(new CreateStreamOperation(row, [], nowMs));
        }
    }

    public async Task ApplyAsync(PipelineStep step)
    {
        nowMs += 1_000;
        switch (step)
        {
            case AppendStep append:
                await AppendAsync(append);
                break;
            case SealStep seal:
                var sealer = new SegmentSealer(
                    queries,
                    walWriter,
                    Files,
                    new SegmentWriter(new SegmentWriterOptions { TargetBlockBytes = BlockBytes }),
                    new SealPolicy(seal.TargetRows, seal.TargetBytes, NeverAged));
                await sealer.SealDueAsync(nowMs, seal.Force, CancellationToken.None);
                break;
            case PublishStep publish:
                await PublishAsync(publish);
                break;
            case RestartStep:
                await walWriter.DisposeAsync();
                (database, walWriter, queries, segments, publisher, reader) = Open();
                break;
        }
    }

    /// <summary>Runs <paramref name="read"/> while every Get of the object store returns a truncated object.</summary>
    public async Task WithShortReadsAsync(Func<Task> read)
    {
        faults.ShortReads = true;
        try
        {
            await read();
        }
        finally
        {
            faults.ShortReads = false;
        }
    }

    public static byte[] Payload(int stream, long position, int size)
    {
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)((stream * 97) + (position * 31) + i);
        }

        return payload;
    }

    public async ValueTask DisposeAsync()
    {
        await walWriter.DisposeAsync();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task AppendAsync(AppendStep append)
    {
        var model = Model[append.Stream];
        var first = model.Count;
        var records = append.PayloadSizes.Select((size, i) => Payload(append.Stream, first + i, size)).ToList();
        await walWriter.Submit(new AppendOperation(
            StreamIds[append.Stream],
            first,
            records,
            nowMs,
            close: false,
            closedBy: null,
            lastStreamSeq: null,
            producer: null));
        // Acknowledged: the commit is durable, so the model holds it from now on.
        model.AddRange(records);
    }

    private async Task PublishAsync(PublishStep publish)
    {
        faults.Arm(publish.Faults);
        try
        {
            var targets = publish.Stream is { } one ? [one] : Enumerable.Range(0, Names.Count);
            foreach (var stream in targets)
            {
                try
                {
                    await publisher.PublishAsync(StreamIds[stream], publish.Draining, CancellationToken.None);
                }
                catch (ObjectStoreException)
                {
                    // An injected failure: the uploader would retry this stream later.
                }
            }
        }
        finally
        {
            faults.Disarm();
        }
    }

    private (StreamDatabase, WalWriter, PipelineQueries, SegmentStore, ManifestPublisher, TieredRecordReader) Open()
    {
        // As the host starts: temp files of interrupted writes go, uploaded segments join the cache.
        Files.RemoveLeftoverTempFiles();
        var openedDatabase = new StreamDatabase(dataDirectory);
        var openedWriter = new WalWriter(openedDatabase, MaxOperationsPerCommit);
        var openedQueries = new PipelineQueries(openedDatabase);
        var openedSegments = new SegmentStore(Files, Store, cacheBudgetBytes);
        foreach (var (name, index, size) in openedQueries.UploadedSegments())
        {
            openedSegments.MarkUploaded(name, index, size);
        }

        var openedPublisher = new ManifestPublisher(openedQueries, openedWriter, Files, openedSegments, Store, TimeProvider.System);
        var openedReader = new TieredRecordReader(openedDatabase, openedQueries, openedSegments);
        return (openedDatabase, openedWriter, openedQueries, openedSegments, openedPublisher, openedReader);
    }

    /// <summary>Faults for the calls of one publish step, in order; every Get truncated while reading with short reads.</summary>
    private sealed class ScriptedFaults
    {
        private readonly Lock gate = new();
        private readonly Queue<InjectedFault> pending = new();
        private volatile bool shortReads;

        public bool ShortReads
        {
            get => shortReads;
            set => shortReads = value;
        }

        public void Arm(IEnumerable<InjectedFault> faults)
        {
            lock (gate)
            {
                pending.Clear();
                foreach (var fault in faults)
                {
                    pending.Enqueue(fault);
                }
            }
        }

        public void Disarm()
        {
            lock (gate)
            {
                pending.Clear();
            }
        }

        public InjectedFault Next(ObjectStoreOperation operation, string key)
        {
            if (shortReads && operation == ObjectStoreOperation.Get)
            {
                return InjectedFault.ShortRead;
            }

            lock (gate)
            {
                return pending.TryDequeue(out var fault) ? fault : InjectedFault.None;
            }
        }
    }
}
