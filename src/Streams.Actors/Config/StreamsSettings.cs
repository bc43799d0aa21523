using System.Reflection;
using Akka.Configuration;

namespace Streams.Actors.Config;

/// <summary>The engine's tuning, parsed once from HOCON (embedded defaults plus overrides).</summary>
public sealed record StreamsSettings
{
    public required TimeSpan LongPollTimeout { get; init; }

    public required TimeSpan SseMaxConnectionAge { get; init; }

    public required TimeSpan PassivateAfter { get; init; }

    public required long MaxReadBytes { get; init; }

    public required long MaxAppendBytes { get; init; }

    public required int MaxAppendMessages { get; init; }

    public required TimeSpan AskTimeout { get; init; }

    public required TimeSpan TouchPersistInterval { get; init; }

    public required int WalMaxOperationsPerCommit { get; init; }

    public required int SegmentTargetRows { get; init; }

    public required long SegmentTargetBytes { get; init; }

    public required TimeSpan SegmentMaxAge { get; init; }

    public required TimeSpan SegmentCheckInterval { get; init; }

    public required int SegmentBlockBytes { get; init; }

    public required TimeSpan UploadCheckInterval { get; init; }

    public required int UploadParallelism { get; init; }

    public required TimeSpan UploadRetryMinBackoff { get; init; }

    public required TimeSpan UploadRetryMaxBackoff { get; init; }

    public required long MaxUnpublishedBytes { get; init; }

    public required long SegmentCacheBytes { get; init; }

    /// <summary>Memory for opened segments and their decoded blocks (<c>read-cache-bytes</c>).</summary>
    public required long ReadCacheBytes { get; init; }

    /// <summary>Stream owners stopped since the last compacting collection that make the next one due; 0: never.</summary>
    public required long CompactAfterStoppedOwners { get; init; }

    public required TimeSpan MemoryCheckInterval { get; init; }

    public required TimeSpan DrainTimeout { get; init; }

    public required int RestoreParallelism { get; init; }

    public required TimeSpan RestoreProgressInterval { get; init; }

    public required int RestoreStreamsPerCommit { get; init; }

    public required TimeSpan HydrationTimeout { get; init; }

    public required int HydrationStashLimit { get; init; }

    /// <summary>Requests one stream owner holds in any waiting state other than hydration.</summary>
    public required int StashLimit { get; init; }

    /// <summary>Least time between two manifests of one stream while seals follow each other quickly.</summary>
    public TimeSpan UploadManifestMinInterval { get; init; }

    public CompactionSettings Compaction { get; init; } = null!;

    public required bool EvictWhenIdle { get; init; }

    public required int MaxConcurrentRequests { get; init; }

    public required int MaxLiveReadersPerNode { get; init; }

    public required int MaxLiveReadersPerStream { get; init; }

    public required int MaxDeferredRepliesPerStream { get; init; }

    public required int MaxSupervisorBufferPerStream { get; init; }

    public required int ClusterShardCount { get; init; }

    public required TimeSpan HandOffTimeout { get; init; }

    public required TimeSpan OwnerCacheTtl { get; init; }

    public required TimeSpan MoveRetryPause { get; init; }

    /// <summary>Record bytes per answer when a fork reads its source over remoting (cluster mode).</summary>
    public required long ForkReadPageBytes { get; init; }

    private const string ResourceName = "Streams.Actors.Config.streams.conf";

    /// <summary>The embedded defaults as HOCON, to be used as the fallback of any overrides.</summary>
    public static Akka.Configuration.Config DefaultConfig()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    public static StreamsSettings From(Akka.Configuration.Config config)
    {
        var streams = config.WithFallback(DefaultConfig()).GetConfig("streams");
        return new StreamsSettings
        {
            LongPollTimeout = streams.GetTimeSpan("long-poll-timeout"),
            SseMaxConnectionAge = streams.GetTimeSpan("sse-max-connection-age"),
            PassivateAfter = streams.GetTimeSpan("passivate-after"),
            MaxReadBytes = streams.GetLong("max-read-bytes"),
            MaxAppendBytes = streams.GetLong("max-append-bytes"),
            MaxAppendMessages = streams.GetInt("max-append-messages"),
            AskTimeout = streams.GetTimeSpan("ask-timeout"),
            TouchPersistInterval = streams.GetTimeSpan("touch-persist-interval"),
            WalMaxOperationsPerCommit = streams.GetInt("wal-max-operations-per-commit"),
            SegmentTargetRows = streams.GetInt("segment.target-rows"),
            SegmentTargetBytes = streams.GetLong("segment.target-bytes"),
            SegmentMaxAge = streams.GetTimeSpan("segment.max-age"),
            SegmentCheckInterval = streams.GetTimeSpan("segment.check-interval"),
            SegmentBlockBytes = streams.GetInt("segment.block-bytes"),
            UploadCheckInterval = streams.GetTimeSpan("upload.check-interval"),
            UploadParallelism = streams.GetInt("upload.parallelism"),
            UploadRetryMinBackoff = streams.GetTimeSpan("upload.retry-min-backoff"),
            UploadRetryMaxBackoff = streams.GetTimeSpan("upload.retry-max-backoff"),
            MaxUnpublishedBytes = streams.GetLong("upload.max-unpublished-bytes"),
            SegmentCacheBytes = streams.GetLong("segment-cache-bytes"),
            ReadCacheBytes = streams.GetLong("read-cache-bytes"),
            CompactAfterStoppedOwners = streams.GetLong("memory.compact-after-stopped-owners"),
            MemoryCheckInterval = streams.GetTimeSpan("memory.check-interval"),
            DrainTimeout = streams.GetTimeSpan("drain-timeout"),
            RestoreParallelism = streams.GetInt("restore.parallelism"),
            RestoreProgressInterval = streams.GetTimeSpan("restore.progress-interval"),
            RestoreStreamsPerCommit = streams.GetInt("restore.streams-per-commit"),
            HydrationTimeout = streams.GetTimeSpan("restore.hydration-timeout"),
            HydrationStashLimit = streams.GetInt("restore.stash-limit"),
            StashLimit = streams.GetInt("stash-limit"),
            EvictWhenIdle = streams.GetBoolean("restore.evict-when-idle"),
            MaxConcurrentRequests = streams.GetInt("limits.concurrent-requests"),
            MaxLiveReadersPerNode = streams.GetInt("limits.live-readers-per-node"),
            MaxLiveReadersPerStream = streams.GetInt("limits.live-readers-per-stream"),
            MaxDeferredRepliesPerStream = streams.GetInt("limits.deferred-replies-per-stream"),
            MaxSupervisorBufferPerStream = streams.GetInt("limits.supervisor-buffer-per-stream"),
            ClusterShardCount = streams.GetInt("cluster.shard-count"),
            HandOffTimeout = streams.GetTimeSpan("cluster.handoff-timeout"),
            OwnerCacheTtl = streams.GetTimeSpan("cluster.owner-cache-ttl"),
            MoveRetryPause = streams.GetTimeSpan("cluster.move-retry-pause"),
            ForkReadPageBytes = streams.GetByteSize("cluster.fork-read-page-bytes")
                ?? throw new InvalidOperationException("streams.cluster.fork-read-page-bytes is not set"),
            UploadManifestMinInterval = streams.GetTimeSpan("upload.manifest-min-interval"),
            Compaction = CompactionSettings.From(streams),
        };
    }

    public static StreamsSettings Default => From(Akka.Configuration.Config.Empty);
}
