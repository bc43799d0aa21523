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

    [Fact]
    public async Task Should_read_a_local_file_block_by_block_with_the_records_of_a_reader_given_the_whole_file()
    {
        var (segment, bytes, objects) = await StoreOneSegmentAsync(SmallBlocks);
        var files = new SegmentFiles(directory.Combine("data"));
        await WriteLocalAsync(files, segment, bytes);
        var store = new SegmentStore(files, objects, cacheBudgetBytes: long.MaxValue);

        var reader = await store.OpenAsync(StreamName, segment, CancellationToken.None);
        var middle = await store.ReadFromAsync(StreamName, segment, 7, maxBytes: 300, CancellationToken.None);
        var all = reader.ReadAll();

        Assert.True(reader.ReadsFromFile, "a local file was read whole");
        var whole = new SegmentReader(bytes);
        Assert.Equal(Describe(whole.ReadFrom(7, 300)), Describe(middle));
        Assert.Equal(Describe(whole.ReadAll()), Describe(all));
        Assert.Equal(0, store.DownloadCount);
    }

    [Fact]
    public async Task Should_refuse_a_block_of_a_local_file_when_it_does_not_verify()
    {
        var (segment, bytes, objects) = await StoreOneSegmentAsync(SmallBlocks);
        var files = new SegmentFiles(directory.Combine("data"));
        var lastBlock = new SegmentReader(bytes).Blocks[^1];
        var damaged = bytes.ToArray();
        damaged[lastBlock.FileOffset + SegmentFormat.BlockHeaderLength] ^= 0xFF;
        await WriteLocalAsync(files, segment, damaged);
        var store = new SegmentStore(files, objects, cacheBudgetBytes: long.MaxValue);

        var first = await store.ReadFromAsync(StreamName, segment, 0, maxBytes: 1, CancellationToken.None);

        Assert.Single(first);
        await Assert.ThrowsAsync<SegmentCorruptException>(() => store.ReadFromAsync(StreamName, segment, lastBlock.FirstPosition, maxBytes: 1, CancellationToken.None));
    }

    [Fact]
    public async Task Should_fetch_the_segment_again_when_its_local_file_was_removed_after_it_was_opened()
    {
        var (segment, bytes, objects) = await StoreOneSegmentAsync(SmallBlocks);
        var files = new SegmentFiles(directory.Combine("data"));
        await WriteLocalAsync(files, segment, bytes);
        var store = new SegmentStore(files, objects, cacheBudgetBytes: long.MaxValue);
        await store.ReadFromAsync(StreamName, segment, 0, maxBytes: 1, CancellationToken.None);

        File.Delete(files.PathFor(StreamName, segment));
        var rest = await store.ReadFromAsync(StreamName, segment, 10, maxBytes: long.MaxValue, CancellationToken.None);

        Assert.Equal(Describe(new SegmentReader(bytes).ReadFrom(10, long.MaxValue)), Describe(rest));
        Assert.Equal(1, store.DownloadCount);
    }

    /// <summary>Blocks of a few records each, so that a read can need some of them and not others.</summary>
    private static readonly SegmentWriterOptions SmallBlocks = new() { TargetBlockBytes = 256 };

    private static async Task WriteLocalAsync(SegmentFiles files, SegmentRow segment, byte[] bytes)
    {
        var path = files.PathFor(StreamName, segment);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, bytes);
    }

    private static List<string> Describe(IEnumerable<SegmentRecord> records) =>
        [.. records.Select(record => $"{record.Position}@{record.TimestampMs}:{Convert.ToHexString(record.Payload.Span)}")];

    private async Task<(SegmentRow Segment, byte[] Bytes, FileSystemObjectStore Objects)> StoreOneSegmentAsync(SegmentWriterOptions? options = null)
    {
        var records = Enumerable.Range(0, 20).Select(i => new SegmentRecord(i, 1_000 + i, Enumerable.Range(0, 100 + i).Select(b => (byte)(b * i)).ToArray())).ToList();
        var bytes = new SegmentWriter(options ?? SegmentWriterOptions.Default).Encode(records);
        var objects = new FileSystemObjectStore(directory.Combine("objects"));
        await objects.PutAsync(ObjectStoreKeys.SegmentKey(StreamName, 0), bytes, CancellationToken.None);
        var segment = new SegmentRow(1, 0, 0, records.Count, bytes.LongLength, SegmentChecksum.Compute(bytes), Uploaded: true, [], null);
        return (segment, bytes, objects);
    }
}
