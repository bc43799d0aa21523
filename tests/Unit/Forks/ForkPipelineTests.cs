using System.Text;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Xunit;

namespace Streams.Tests.Unit.Forks;

/// <summary>A fork's own records go through seal, upload and publish like any stream's, from its fork position on.</summary>
public sealed class ForkPipelineTests : IAsyncLifetime
{
    private const long Now = 1_000;
    private readonly ForkTestEngine engine = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await engine.DisposeAsync();

    [Fact]
    public async Task Should_seal_and_publish_a_fork_from_its_fork_position_with_its_parent_in_the_manifest()
    {
        var sourceId = await CreateAsync(Row("source"), "a", "b", "c");
        var forkId = await CreateAsync(
            Row("fork") with
            {
                ForkParentId = sourceId,
                ForkPosition = 2,
                ForkSubOffset = 1,
                NextPosition = 2,
                SealedThrough = 2,
                UploadedThrough = 2,
            },
            "x",
            "y");

        await engine.Sealer().SealDueAsync(Now, force: true, CancellationToken.None);
        var publisher = engine.Publisher();
        Assert.True(await publisher.PublishAsync(sourceId, draining: false, CancellationToken.None));
        Assert.True(await publisher.PublishAsync(forkId, draining: false, CancellationToken.None));

        var manifest = StreamManifest.Parse(await engine.ObjectStore.GetAsync(ObjectStoreKeys.ManifestKey("fork"), CancellationToken.None));
        Assert.Equal("source", manifest.ForkParent);
        Assert.Equal(2, manifest.ForkPosition);
        Assert.Equal(1, manifest.ForkSubOffset);
        Assert.Equal(4, manifest.NextPosition);
        Assert.Equal([2L], manifest.Segments.RecordCounts);
        var details = engine.Queries.LoadDetails(forkId)!;
        Assert.Equal(4, details.UploadedThrough);
        Assert.Equal(0, details.PendingRows);

        // Both streams' records now come from segments; the fork still reads across the boundary.
        var lineage = engine.Database.LoadStream("fork")!.Lineage!;
        var records = await lineage.ReadAsync(engine.Reader, 0, 4, long.MaxValue, CancellationToken.None);
        Assert.Equal(["a", "b", "x", "y"], records.Select(record => Encoding.UTF8.GetString(record.Payload)));
    }

    [Fact]
    public async Task Should_publish_a_fork_without_own_records_at_its_fork_position()
    {
        var sourceId = await CreateAsync(Row("source"), "a");
        var forkId = await CreateAsync(
            Row("fork") with { ForkParentId = sourceId, ForkPosition = 1, NextPosition = 1, SealedThrough = 1, UploadedThrough = 1 });

        Assert.True(await engine.Publisher().PublishAsync(forkId, draining: false, CancellationToken.None));

        var manifest = StreamManifest.Parse(await engine.ObjectStore.GetAsync(ObjectStoreKeys.ManifestKey("fork"), CancellationToken.None));
        Assert.Equal(1, manifest.NextPosition);
        Assert.Equal(1, manifest.ForkPosition);
        Assert.Null(manifest.ForkSubOffset);
        Assert.Empty(manifest.Segments.RecordCounts);
    }

    [Fact]
    public void Should_reject_a_manifest_whose_segments_do_not_cover_from_its_first_segment_position()
    {
        var fork = new StreamManifest
        {
            Name = "fork",
            ContentType = ContentTypes.Default,
            ForkParent = "source",
            ForkPosition = 2,
            NextPosition = 4,
            Segments = new ManifestSegments { RecordCounts = [2], ByteSizes = [10], Checksums = ["c"] },
        };
        var notAFork = fork with { ForkParent = null, ForkPosition = null };

        Assert.Equal(4, StreamManifest.Parse(fork.ToJson()).NextPosition);
        Assert.Throws<InvalidDataException>(() => StreamManifest.Parse(notAFork.ToJson()));
    }

    [Fact]
    public async Task Should_refuse_to_create_a_fork_of_a_stream_that_was_removed()
    {
        var sourceId = await CreateAsync(Row("source"), "a");
        await engine.Writer.Submit(new RemoveUnlessForkedOperation(sourceId));

        await Assert.ThrowsAsync<ForkSourceGoneException>(() => CreateAsync(Row("fork") with { ForkParentId = sourceId, ForkPosition = 0 }));
    }

    [Fact]
    public async Task Should_only_soft_delete_a_stream_while_a_fork_references_it()
    {
        var sourceId = await CreateAsync(Row("source"), "a");
        var forkId = await CreateAsync(Row("fork") with { ForkParentId = sourceId, ForkPosition = 1, NextPosition = 1 });

        Assert.Equal(StreamRemoval.SoftDeleted, await engine.Writer.Submit(new RemoveUnlessForkedOperation(sourceId)));
        Assert.Equal(StreamRemoval.Removed, await engine.Writer.Submit(new RemoveUnlessForkedOperation(forkId)));
        Assert.Equal(StreamRemoval.Removed, await engine.Writer.Submit(new RemoveUnlessForkedOperation(sourceId)));
        Assert.Equal(StreamRemoval.Missing, await engine.Writer.Submit(new RemoveUnlessForkedOperation(sourceId)));
    }

    private static StreamRow Row(string name) =>
        new() { Name = name, ContentType = "text/plain", CreatedAtMs = Now, LastAccessMs = Now };

    private Task<long> CreateAsync(StreamRow row, params string[] records) =>
        engine.Writer.Submit(new CreateStreamOperation(row, [.. records.Select(Encoding.UTF8.GetBytes)], Now, [.. records.Select(_ => 1)]));
}
