using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Streams.Actors.Storage;

namespace Streams.Actors.Actors;

/// <summary>
/// The in-memory state of a stream its owner serves from. Positions are split in two: what has been
/// assigned to accepted appends, and what is committed (durable, visible to readers).
/// </summary>
internal sealed class LiveStream
{
    public LiveStream(StreamRow row)
    {
        StreamId = row.StreamId;
        Name = row.Name;
        ContentType = row.ContentType;
        IsJson = ContentTypes.IsJson(row.ContentType);
        TtlSeconds = row.TtlSeconds;
        ExpiresAtMs = row.ExpiresAtMs;
        LastAccessMs = row.LastAccessMs;
        LastPersistedAccessMs = row.LastAccessMs;
        AssignedPosition = row.NextPosition;
        CommittedPosition = row.NextPosition;
        ClosedAssigned = row.Closed;
        ClosedCommitted = row.Closed;
        ClosedBy = row.ClosedBy;
        LastStreamSeq = row.LastStreamSeq;
        OwnershipClaimed = row.OwnershipClaimed;
        Epochs = new EpochHistory(row.Epochs);
        ForkParentName = row.ForkParentName;
        ForkPosition = row.ForkParentName is null ? 0 : row.ForkPosition ?? 0;
        ForkSubOffset = row.ForkSubOffset;
        Lineage = row.Lineage ?? StreamLineage.Root(row.StreamId, row.Name);
        SoftDeleted = row.SoftDeleted;
        foreach (var producer in row.Producers)
        {
            Producers[producer.ProducerId] = producer;
        }
    }

    public long StreamId { get; }

    public string Name { get; }

    public string ContentType { get; }

    public bool IsJson { get; }

    public long? TtlSeconds { get; }

    public long? ExpiresAtMs { get; }

    public long LastAccessMs { get; set; }

    public long LastPersistedAccessMs { get; set; }

    public long AssignedPosition { get; set; }

    public long CommittedPosition { get; set; }

    public bool ClosedAssigned { get; set; }

    public bool ClosedCommitted { get; set; }

    public ProducerClaim? ClosedBy { get; set; }

    public string? LastStreamSeq { get; set; }

    public bool OwnershipClaimed { get; set; }

    public EpochHistory Epochs { get; set; }

    public Dictionary<string, ProducerState> Producers { get; } = new(StringComparer.Ordinal);

    /// <summary>The stream this one was forked from; null when it is not a fork.</summary>
    public string? ForkParentName { get; }

    /// <summary>A fork's first own position (0 when not a fork): below it the source's records show.</summary>
    public long ForkPosition { get; }

    public long ForkSubOffset { get; }

    /// <summary>Which stream serves which positions: only this one unless it is a fork.</summary>
    public StreamLineage Lineage { get; }

    /// <summary>Deleted while forks still read through it: invisible to clients, kept for the forks.</summary>
    public bool SoftDeleted { get; set; }

    public Offset CommittedTail => Epochs.OffsetAt(CommittedPosition);

    public Offset AssignedTail => Epochs.OffsetAt(AssignedPosition);

    public bool IsExpired(long nowMs) =>
        (TtlSeconds is { } ttl && nowMs >= LastAccessMs + (ttl * 1000)) ||
        (ExpiresAtMs is { } expiresAt && nowMs >= expiresAt);

    public StreamReplies.StreamView View() =>
        new(
            Name,
            StreamId,
            ContentType,
            CommittedTail,
            ClosedCommitted,
            TtlSeconds,
            ExpiresAtMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);

    /// <summary>
    /// Same fork configuration as a fork PUT asks for. What the request leaves out (offset, content
    /// type, TTL and expiry) was inherited or defaulted at creation, so it matches what the fork has.
    /// </summary>
    public bool MatchesFork(ForkMessages.CreateFork create) =>
        ForkParentName is not null &&
        string.Equals(ForkParentName, create.SourceName, StringComparison.Ordinal) &&
        (create.ForkOffset is not { } offset || offset.Position == ForkPosition) &&
        ForkSubOffset == create.SubOffset &&
        (create.ContentType is not { } contentType || ContentTypes.SameMediaType(ContentType, contentType)) &&
        ((create.TtlSeconds is null && create.ExpiresAt is null) ||
         (TtlSeconds == create.TtlSeconds && ExpiresAtMs == create.ExpiresAt?.ToUnixTimeMilliseconds())) &&
        ClosedAssigned == create.Closed;

    /// <summary>Same configuration as a PUT asks for: the rule for an idempotent re-create.</summary>
    public bool MatchesConfig(StreamCommands.CreateStream create) =>
        ForkParentName is null &&
        ContentTypes.SameMediaType(ContentType, create.ContentType) &&
        TtlSeconds == create.TtlSeconds &&
        ExpiresAtMs == create.ExpiresAt?.ToUnixTimeMilliseconds() &&
        ClosedAssigned == create.Closed;
}
