using Streams.Actors.Config;
using Streams.Actors.Storage;

namespace Streams.Actors.Actors;

/// <summary>
/// What the <see cref="CompactorActor"/> works with: the compactor itself, the gate that keeps it away
/// from streams being handed off or evicted (closed by the drain), the queries that find candidates,
/// the upload backlog it yields to, its settings and the clock.
/// </summary>
public sealed record CompactionDependencies(
    SegmentCompactor Compactor,
    CompactionGate Gate,
    PipelineQueries Queries,
    UploadBacklog Backlog,
    CompactionSettings Settings,
    TimeProvider Clock);
