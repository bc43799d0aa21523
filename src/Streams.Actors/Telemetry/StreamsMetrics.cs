using System.Diagnostics;
using System.Diagnostics.Metrics;
using Streams.Actors.Domain;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Telemetry;

/// <summary>
/// Every instrument of the engine, in one place, on the meter <see cref="MeterName"/>. Hooks in the
/// actors and the storage layer are one call each into the methods here. Instruments are static,
/// like the .NET runtime's own: several hosts in one process (tests) add to the same counters, and
/// the observed gauges read the sources of the host registered last.
/// </summary>
public static class StreamsMetrics
{
    public const string MeterName = "Streams";

    private const string OutcomeTag = "outcome";
    private const string ReasonTag = "reason";

    private static readonly Meter Meter = new(MeterName, "1.0");

    private static readonly Counter<long> Appends = Meter.CreateCounter<long>(
        "streams.appends", "{append}", "Append requests answered by a stream's owner, by outcome (accepted, duplicate, or the error code)");

    private static readonly Counter<long> AppendBytes = Meter.CreateCounter<long>(
        "streams.append.bytes", "By", "Request body bytes of append requests answered by a stream's owner, by outcome");

    /// <summary>From a fast fsync (sub-millisecond on NVMe) to a stalled disk.</summary>
    private static readonly IReadOnlyList<double> LatencyBucketsSeconds =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Powers of two up to the default <c>wal-max-operations-per-commit</c> (2048).</summary>
    private static readonly IReadOnlyList<long> GroupSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

    private static readonly Histogram<double> WalCommitDuration = Meter.CreateHistogram(
        "streams.wal.commit.duration", "s", "Time to apply and commit (fsync) one WAL group commit", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsSeconds });

    private static readonly Histogram<long> WalCommitOperations = Meter.CreateHistogram(
        "streams.wal.commit.operations", "{operation}", "Stream operations in one WAL group commit", tags: null,
        new InstrumentAdvice<long> { HistogramBucketBoundaries = GroupSizeBuckets });

    private static readonly UpDownCounter<long> LiveReaders = Meter.CreateUpDownCounter<long>(
        "streams.live.readers", "{reader}", "Open long-poll and SSE requests on this node");

    private static readonly Counter<long> LiveReadersRefused = Meter.CreateCounter<long>(
        "streams.live.readers.refused", "{reader}", "Live reads refused with 503 because a live-reader limit was reached");

    private static readonly Counter<long> Hydrations = Meter.CreateCounter<long>(
        "streams.hydrations", "{hydration}", "Lazy restores of one stream from the object store, by outcome (restored, absent, failed)");

    private static readonly Histogram<double> HydrationDuration = Meter.CreateHistogram(
        "streams.hydration.duration", "s", "Time to hydrate one stream from its manifest", tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsSeconds });

    private static readonly Counter<long> Uploads = Meter.CreateCounter<long>(
        "streams.uploads", "{upload}", "Stream publications (segments and manifest) by outcome; failures carry a reason");

    private static readonly Counter<long> SegmentReads = Meter.CreateCounter<long>(
        "streams.segment.reads", "{read}", "Segment reads by outcome: hit (a local file) or miss (downloaded from the object store)");

    private static readonly UpDownCounter<long> ActiveStreams = Meter.CreateUpDownCounter<long>(
        "streams.active", "{stream}", "Stream owners (actors) alive on this node");

    private static readonly Counter<long> PassivatedStreams = Meter.CreateCounter<long>(
        "streams.passivated", "{stream}", "Stream owners stopped after being idle");

    private static readonly Counter<long> Overloads = Meter.CreateCounter<long>(
        "streams.overloaded", "{request}", "Requests refused with 503 overloaded, by the limit that refused them");

    private static Func<long> uploadBacklog = () => 0;
    private static Func<(long Total, long Done, long Failed)> restoreProgress = () => (0, 0, 0);

    static StreamsMetrics()
    {
        Meter.CreateObservableGauge(
            "streams.upload.backlog", () => uploadBacklog(), "By", "Payload bytes written locally and not yet published to the object store");
        Meter.CreateObservableGauge(
            "streams.restore.streams",
            () =>
            {
                var (total, done, failed) = restoreProgress();
                return new[]
                {
                    new Measurement<long>(total, new KeyValuePair<string, object?>("state", "total")),
                    new Measurement<long>(done, new KeyValuePair<string, object?>("state", "done")),
                    new Measurement<long>(failed, new KeyValuePair<string, object?>("state", "failed")),
                };
            },
            "{stream}",
            "Eager restore progress: streams found in the object store, restored, and quarantined");
    }

    /// <summary>Where the observed gauges read from; called once by the host that owns them.</summary>
    public static void Observe(Func<long> uploadBacklogBytes, Func<(long Total, long Done, long Failed)> restore)
    {
        uploadBacklog = uploadBacklogBytes;
        restoreProgress = restore;
    }

    public static void AppendAnswered(object reply, long bodyBytes)
    {
        var outcome = reply switch
        {
            Appended { Duplicate: true } => "duplicate",
            Appended => "accepted",
            StreamRejected rejected => OutcomeOf(rejected.Code),
            _ => "unexpected",
        };
        var tag = new KeyValuePair<string, object?>(OutcomeTag, outcome);
        Appends.Add(1, tag);
        AppendBytes.Add(bodyBytes, tag);
    }

    public static void WalCommitted(int operations, long startTimestamp)
    {
        WalCommitDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        WalCommitOperations.Record(operations);
    }

    public static void LiveReaderStarted() => LiveReaders.Add(1);

    public static void LiveReaderEnded() => LiveReaders.Add(-1);

    public static void LiveReaderRefused(string limit) =>
        LiveReadersRefused.Add(1, new KeyValuePair<string, object?>("limit", limit));

    public static void Hydrated(string outcome, long startTimestamp)
    {
        Hydrations.Add(1, new KeyValuePair<string, object?>(OutcomeTag, outcome));
        HydrationDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
    }

    public static void UploadSucceeded() => Uploads.Add(1, new KeyValuePair<string, object?>(OutcomeTag, "published"));

    /// <summary>The reason is the failure's type (a bounded set), never its message (unbounded, may name keys).</summary>
    public static void UploadFailed(Exception exception) =>
        Uploads.Add(1, new KeyValuePair<string, object?>(OutcomeTag, "failed"), new KeyValuePair<string, object?>(ReasonTag, exception.GetType().Name));

    public static void SegmentRead(bool hit) => SegmentReads.Add(1, new KeyValuePair<string, object?>(OutcomeTag, hit ? "hit" : "miss"));

    public static void StreamStarted() => ActiveStreams.Add(1);

    public static void StreamStopped(bool passivated)
    {
        ActiveStreams.Add(-1);
        if (passivated)
        {
            PassivatedStreams.Add(1);
        }
    }

    public static void Overloaded(string limit) => Overloads.Add(1, new KeyValuePair<string, object?>("limit", limit));

    /// <summary>The error code as the HTTP body names it would be best, but that mapping lives in the Api; the enum name is stable too.</summary>
    private static string OutcomeOf(ErrorCode code) => code.ToString();
}
