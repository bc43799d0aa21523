using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>A stream's row in the local index with its epochs and producer states.</summary>
public sealed record StreamRow
{
    public long StreamId { get; init; }

    public required string Name { get; init; }

    public required string ContentType { get; init; }

    public long CreatedAtMs { get; init; }

    public long? TtlSeconds { get; init; }

    public long? ExpiresAtMs { get; init; }

    public long LastAccessMs { get; init; }

    public bool Closed { get; init; }

    public ProducerClaim? ClosedBy { get; init; }

    public string? LastStreamSeq { get; init; }

    public long NextPosition { get; init; }

    public long SealedThrough { get; init; }

    public long UploadedThrough { get; init; }

    public long ManifestGeneration { get; init; }

    public long? ForkParentId { get; init; }

    public long? ForkPosition { get; init; }

    /// <summary>The Stream-Fork-Sub-Offset a fork was created with; 0 for none.</summary>
    public long ForkSubOffset { get; init; }

    /// <summary>
    /// The name of the stream this one was forked from: loaded through <see cref="ForkParentId"/> for a
    /// local fork, stored as <c>fork_parent_name</c> for a fork whose source is read through the cluster.
    /// </summary>
    public string? ForkParentName { get; init; }

    /// <summary>
    /// A fork (cluster mode) that references no local row: its positions below the fork position are
    /// asked of its source's owner, wherever that lives.
    /// </summary>
    public bool ForkSourceIsRemote => ForkParentId is null && ForkParentName is not null;

    /// <summary>Which stream serves which positions (loaded, not a column); null means only itself.</summary>
    public StreamLineage? Lineage { get; init; }

    public bool SoftDeleted { get; init; }

    public bool Restored { get; init; }

    /// <summary>
    /// False for a stream taken over from a manifest, or whose last manifest from this node was marked
    /// cleanly drained, until this node has published one of its own that is not.
    /// </summary>
    public bool OwnershipClaimed { get; init; } = true;

    public IReadOnlyList<EpochStart> Epochs { get; init; } = [];

    public IReadOnlyList<ProducerState> Producers { get; init; } = [];
}

/// <summary>One stored record as read back from the WAL.</summary>
public readonly record struct StoredRecord(long Position, long TimestampMs, ReadOnlyMemory<byte> Payload);
