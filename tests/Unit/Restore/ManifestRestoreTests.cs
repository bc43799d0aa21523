using Streams.Actors.Domain;
using Streams.Actors.Restore;
using Xunit;

namespace Streams.Tests.Unit.Restore;

/// <summary>The rows a manifest turns into: what both the eager and the lazy restore write.</summary>
public sealed class ManifestRestoreTests
{
    private const long UpdatedAtMs = 1_750_000_123_456;
    private const long NowMs = UpdatedAtMs + 60_000;

    private static StreamManifest Manifest(bool drainedClean, IReadOnlyList<ManifestEpoch>? epochs = null) => new()
    {
        Name = "orders/eu",
        Generation = 7,
        ContentType = ContentTypes.Json,
        CreatedAtMs = UpdatedAtMs - 1_000,
        UpdatedAtMs = UpdatedAtMs,
        TtlSeconds = 3_600,
        Closed = true,
        ClosedBy = new ManifestProducer("closer", 2, 9),
        Producers = [new ManifestProducer("a", 1, 4), new ManifestProducer("closer", 2, 9)],
        StreamSeq = "0042",
        NextPosition = 12,
        Epochs = epochs ?? [new ManifestEpoch(0, 0)],
        DrainedClean = drainedClean,
        Segments = new ManifestSegments
        {
            RecordCounts = [5, 5, 2],
            ByteSizes = [300, 310, 120],
            Checksums = ["c0", "c1", "c2"],
        },
    };

    [Fact]
    public void Should_restore_every_field_as_published_when_the_manifest_was_drained_clean()
    {
        var restored = ManifestRestore.ToRows(Manifest(drainedClean: true), NowMs)!;
        var row = restored.Row;

        Assert.False(restored.EpochBumped);
        Assert.Equal("orders/eu", row.Name);
        Assert.Equal(ContentTypes.Json, row.ContentType);
        Assert.Equal(UpdatedAtMs - 1_000, row.CreatedAtMs);
        Assert.Equal(3_600, row.TtlSeconds);
        Assert.Equal(UpdatedAtMs, row.LastAccessMs);
        Assert.True(row.Closed);
        Assert.Equal(new ProducerClaim("closer", 2, 9), row.ClosedBy);
        Assert.Equal("0042", row.LastStreamSeq);
        Assert.Equal(12, row.NextPosition);
        Assert.Equal(12, row.SealedThrough);
        Assert.Equal(12, row.UploadedThrough);
        Assert.Equal(7, row.ManifestGeneration);
        Assert.True(row.Restored);
        Assert.False(row.OwnershipClaimed);
        Assert.Equal([new EpochStart(0, 0)], row.Epochs);
        Assert.Equal([new ProducerState("a", 1, 4), new ProducerState("closer", 2, 9)], row.Producers);
    }

    [Fact]
    public void Should_tile_the_segments_from_position_zero_when_rows_are_made_from_the_compact_segment_list()
    {
        var restored = ManifestRestore.ToRows(Manifest(drainedClean: true), NowMs)!;

        Assert.Equal(
            [(0L, 0L, 5L, 300L, "c0"), (1L, 5L, 5L, 310L, "c1"), (2L, 10L, 2L, 120L, "c2")],
            restored.Segments.Select(segment => (segment.Index, segment.FirstPosition, segment.RecordCount, segment.ByteSize, segment.Checksum)));
        Assert.All(restored.Segments, segment => Assert.True(segment.Uploaded));
        Assert.All(restored.Segments, segment => Assert.Empty(segment.ProducerUpdates));
    }

    [Fact]
    public void Should_open_a_new_epoch_at_the_published_end_when_the_manifest_was_not_drained_clean()
    {
        var restored = ManifestRestore.ToRows(Manifest(drainedClean: false), NowMs)!;

        Assert.True(restored.EpochBumped);
        Assert.Equal([new EpochStart(0, 0), new EpochStart(1, 12)], restored.Row.Epochs);
        Assert.Equal(new Offset(1, 12), new EpochHistory(restored.Row.Epochs).OffsetAt(restored.Row.NextPosition));
    }

    [Fact]
    public void Should_open_the_epoch_after_the_newest_when_an_unclean_manifest_already_has_several()
    {
        var restored = ManifestRestore.ToRows(Manifest(drainedClean: false, [new ManifestEpoch(0, 0), new ManifestEpoch(1, 4)]), NowMs)!;

        Assert.Equal([new EpochStart(0, 0), new EpochStart(1, 4), new EpochStart(2, 12)], restored.Row.Epochs);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Should_start_from_epoch_zero_when_the_manifest_lists_no_epochs(bool drainedClean)
    {
        var restored = ManifestRestore.ToRows(Manifest(drainedClean, epochs: []), NowMs)!;

        Assert.Equal(drainedClean ? [new EpochStart(0, 0)] : [new EpochStart(0, 0), new EpochStart(1, 12)], restored.Row.Epochs);
    }

    [Fact]
    public void Should_yield_no_rows_when_the_manifest_is_a_tombstone()
    {
        var tombstone = new StreamManifest
        {
            Name = "orders/eu",
            Generation = 8,
            ContentType = ContentTypes.Default,
            UpdatedAtMs = UpdatedAtMs,
            Deleted = true,
            DrainedClean = true,
        };

        Assert.Null(ManifestRestore.ToRows(tombstone, NowMs));
    }

    [Fact]
    public void Should_take_the_current_time_as_last_access_when_the_manifest_claims_a_time_in_the_future()
    {
        var restored = ManifestRestore.ToRows(Manifest(drainedClean: true), nowMs: UpdatedAtMs - 5_000)!;

        Assert.Equal(UpdatedAtMs - 5_000, restored.Row.LastAccessMs);
    }
}
