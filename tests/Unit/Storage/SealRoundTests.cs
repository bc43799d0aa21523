using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.Restore;
using Streams.Tests.Unit.Support;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Storage;

/// <summary>
/// What a sealing round reports so that the segmenter can skip idle ticks: when the earliest tail it
/// left waiting becomes due by age, and the index's commit count, which every seal advances.
/// </summary>
public sealed class SealRoundTests : IAsyncLifetime
{
    /// <summary>The timestamp <see cref="StreamWrites"/> gives every record.</summary>
    private const long WrittenAtMs = 1_750_000_000_000;
    private const long MaxAgeMs = 10_000;

    private readonly TestDirectory objects = new("seal-round");
    private readonly StreamTestNode node;

    public SealRoundTests()
    {
        node = new StreamTestNode(
            new FileSystemObjectStore(objects.Path),
            hocon: $"streams.segment.target-rows = 3\nstreams.segment.max-age = {MaxAgeMs}ms");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await node.DisposeAsync();
        objects.Dispose();
    }

    [Fact]
    public async Task Should_name_the_tail_left_waiting_until_its_age_and_nothing_once_it_is_sealed_when_rounds_run_before_and_after_that_age()
    {
        await StreamWrites.CreateAsync(node, "tail", records: 4);
        var commitsBefore = node.Sealer.IndexCommits;

        var early = await node.Sealer.SealDueRoundAsync(WrittenAtMs + 1_000, force: false, CancellationToken.None);
        Assert.Single(early.SealedStreams);
        Assert.Equal(WrittenAtMs + MaxAgeMs, early.NextDueMs);
        Assert.True(node.Sealer.IndexCommits > commitsBefore, "sealing a segment committed nothing");

        var beforeDue = await node.Sealer.SealDueRoundAsync(WrittenAtMs + MaxAgeMs - 1, force: false, CancellationToken.None);
        Assert.Empty(beforeDue.SealedStreams);
        Assert.Equal(WrittenAtMs + MaxAgeMs, beforeDue.NextDueMs);

        var due = await node.Sealer.SealDueRoundAsync(WrittenAtMs + MaxAgeMs, force: false, CancellationToken.None);
        Assert.Single(due.SealedStreams);
        Assert.Null(due.NextDueMs);

        var idle = await node.Sealer.SealDueRoundAsync(WrittenAtMs + MaxAgeMs + 1, force: false, CancellationToken.None);
        Assert.Empty(idle.SealedStreams);
        Assert.Null(idle.NextDueMs);
    }
}
