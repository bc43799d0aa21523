using Streams.Actors.Domain;
using Streams.Actors.Config;
using Streams.Actors.Restore;
using Streams.Actors.Storage;

namespace Streams.Actors.Actors;

/// <summary>
/// What every stream owner shares: the index, the writer, the reader and the clock; in cluster mode
/// also <paramref name="Cluster"/>, this node's place in the cluster (null on a single node), and
/// <paramref name="ForkReferences"/>, the markers that say which forks read a stream (a fork and its
/// source may live on different nodes there, so no local row can say it); <paramref name="Compaction"/>
/// keeps the compactor away from a stream while it is handed off or evicted (null: no compactor).
/// </summary>
public sealed record StreamDependencies(
    StreamDatabase Database,
    WalWriter WalWriter,
    IRecordReader RecordReader,
    PipelineQueries Queries,
    UploadBacklog Backlog,
    DrainState Drain,
    StreamHydrator Hydrator,
    ManifestPublisher Publisher,
    SegmentStore Segments,
    RestoreMode RestoreMode,
    StreamsSettings Settings,
    TimeProvider Clock,
    Hosting.StreamsNode? Cluster = null,
    ObjectStore.ForkReferences? ForkReferences = null,
    CompactionGate? Compaction = null);
