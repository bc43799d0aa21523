using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Streams.Tests.Support;
using Streams.Tests.Unit.Support;
using Xunit;

namespace Streams.Tests.Unit.Storage;

public sealed class SegmentStoreTests : IDisposable
{
    private const string StreamName = "short/reads";
    private readonly TestDirectory directory = new("segment-store");

    public void Dispose() => directory.Dispose();

    [Fact]
    public async Task Should_refuse_a_truncated_download_and_fetch_the_segment_again_when_the_next_read_asks()
    {
        var (segment, bytes, objects) = await StoreOneSegmentAsync();
        var truncateNext = true;
        var flaky = new FlakyObjectStore(
            objects,
            (operation, _) => operation == ObjectStoreOperation.Get && Interlocked.Exchange(ref truncateNext, false)
                ? InjectedFault.ShortRead
                : InjectedFault.None,
            TimeSpan.Zero);
        var files = new SegmentFiles(directory.Combine("data"));
        var store = new SegmentStore(files, flaky, cacheBudgetBytes: 0);

        await Assert.ThrowsAsync<SegmentCorruptException>(() => store.GetAsync(StreamName, segment, CancellationToken.None));
        Assert.False(File.Exists(files.PathFor(StreamName, segment)), "the truncated bytes were kept as a cache entry");

        var fetched = await store.GetAsync(StreamName, segment, CancellationToken.None);

        Assert.Equal(bytes, fetched);
        Assert.Equal(2, store.DownloadCount);
    }

    [Fact]
    public async Task Should_refuse_a_download_when_the_object_differs_from_the_segment_the_index_describes()
    {
        var (segment, _, objects) = await StoreOneSegmentAsync();
        var other = new SegmentWriter().Encode([new SegmentRecord(0, 1, "other"u8.ToArray())]);
        await objects.PutAsync(ObjectStoreKeys.SegmentKey(StreamName, segment.Index), other, CancellationToken.None);
        var store = new SegmentStore(new SegmentFiles(directory.Combine("data")), objects, cacheBudgetBytes: 0);

        await Assert.ThrowsAsync<SegmentCorruptException>(() => store.GetAsync(StreamName, segment, CancellationToken.None));
    }

    private async Task<(SegmentRow Segment, byte[] Bytes, FileSystemObjectStore Objects)> StoreOneSegmentAsync()
    {
        var records = Enumerable.Range(0, 20).Select(i => new SegmentRecord(i, 1_000 + i, new byte[100 + i])).ToList();
        var bytes = new SegmentWriter().Encode(records);
        var objects = new FileSystemObjectStore(directory.Combine("objects"));
        await objects.PutAsync(ObjectStoreKeys.SegmentKey(StreamName, 0), bytes, CancellationToken.None);
        var segment = new SegmentRow(1, 0, 0, records.Count, bytes.LongLength, SegmentChecksum.Compute(bytes), Uploaded: true, [], null);
        return (segment, bytes, objects);
    }
}
