using System.Text;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.Support;
using Xunit;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// A stream fed one record at a time, each sealed and published on its own, on a node whose compactor
/// merges the whole small tail as soon as it can — with the put of the first merge held, so that a
/// test can stop the node or move the stream while a compaction of it is in flight.
/// </summary>
internal static class TrickleCompaction
{
    public const string Hocon = """
        streams.segment.target-rows = 1000
        streams.segment.max-age = 10ms
        streams.segment.check-interval = 10ms
        streams.upload.check-interval = 10ms
        streams.upload.manifest-min-interval = 0s
        streams.compaction.check-interval = 50ms
        streams.compaction.quiet-after = 0s
        """;

    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A JSON record whose size grows with <paramref name="index"/>.</summary>
    public static byte[] Record(int index) => Encoding.UTF8.GetBytes($"{{\"n\":{index},\"pad\":\"{new string('x', index)}\"}}");

    /// <summary>
    /// Appends <paramref name="records"/> records through <paramref name="append"/>, each once the one
    /// before is published, and yields the gate holding the first merge's put (after the first seal,
    /// only a merge puts an object that starts at position 0). The merge may still be on its way.
    /// </summary>
    public static async Task<ControllableObjectStore.Gate> AppendHoldingTheFirstMergeAsync(
        ObjectStoreWorld world,
        string name,
        int records,
        Func<byte[], Task> append)
    {
        ControllableObjectStore.Gate? mergedPut = null;
        var firstSegment = ObjectStoreKeys.SegmentsPrefix(name) + ObjectStoreKeys.NewSegmentObjectName(0)[..17];
        for (var i = 0; i < records; i++)
        {
            await append(Record(i));
            var published = i + 1;
            await Eventually.AssertAsync(async () => Assert.Equal(published, (await world.ReadManifestAsync(name)).NextPosition), PublishTimeout);
            mergedPut ??= world.Control.Hold(ObjectStoreOperation.Put, key => key.StartsWith(firstSegment, StringComparison.Ordinal));
        }

        return mergedPut!;
    }
}
