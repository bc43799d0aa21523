using System.Text;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Storage;

/// <summary>
/// Reads that start anywhere: at the start or in the middle of any segment (the first and the later
/// ones, whose first position is not 0), exactly at the seal boundary, and across from the last
/// segment into the WAL, whole or page by page. Segments of three records: [0..2], [3..5], [6..8],
/// then records 9..10 only in the WAL.
/// </summary>
public sealed class TieredRecordReaderTests : IAsyncLifetime
{
    private const string Name = "reader/tiers";
    private const int SealedRecords = 9;
    private const int WalRecords = 2;
    private const int Total = SealedRecords + WalRecords;
    private const long Unlimited = long.MaxValue;

    /// <summary>
    /// A read of eleven small records takes milliseconds; a faulty reader that never reaches its end
    /// (one that starts a record late in a later segment did) must fail the test, not hang the run.
    /// </summary>
    private static readonly TimeSpan ReadDeadline = TimeSpan.FromSeconds(10);

    private readonly TempDirectory objects = new();
    private StreamTestNode node = null!;
    private long streamId;

    public async Task InitializeAsync()
    {
        node = new StreamTestNode(new FileSystemObjectStore(objects.Path), hocon: "streams.segment.target-rows = 3");
        var row = new StreamRow { Name = Name, ContentType = ContentTypes.Default, CreatedAtMs = 1, LastAccessMs = 1 };
        streamId = await node.WalWriter.Submit(new CreateStreamOperation(row, [.. Enumerable.Range(0, SealedRecords).Select(Payload)], 1, [SealedRecords]));
        await node.PublishAsync(draining: false);
        await node.WalWriter.Submit(new AppendOperation(streamId, SealedRecords, [.. Enumerable.Range(SealedRecords, WalRecords).Select(Payload)], 2, false, null, null, null));
    }

    public async Task DisposeAsync()
    {
        await node.DisposeAsync();
        objects.Dispose();
    }

    [Fact]
    public void Should_have_three_segments_of_three_records_and_the_rest_in_the_wal()
    {
        var details = node.Queries.LoadDetails(streamId)!;

        Assert.Equal(3, details.SegmentCount);
        Assert.Equal(SealedRecords, details.SealedThrough);
        Assert.Equal(WalRecords, details.PendingRows);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    public async Task Should_return_every_record_from_the_start_position_to_the_end_in_order_whatever_tier_the_start_is_in(long from)
    {
        var records = await ReadAsync(from, Total, Unlimited);

        AssertRecords(from, Total, records);
    }

    [Theory]
    [InlineData(4, 6)]
    [InlineData(7, 10)]
    [InlineData(8, 9)]
    public async Task Should_stop_at_the_end_position_given_when_it_lies_in_a_later_segment_or_the_wal(long from, long to)
    {
        var records = await ReadAsync(from, to, Unlimited);

        AssertRecords(from, to, records);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public async Task Should_read_page_by_page_from_the_middle_of_a_later_segment_into_the_wal_without_a_gap_or_repeat(long from)
    {
        // Every payload is a few bytes: one record per page.
        var read = new List<StoredRecord>();
        var position = from;
        while (position < Total)
        {
            var page = await ReadAsync(position, Total, maxBytes: 1);
            Assert.NotEmpty(page);
            read.AddRange(page);
            position += page.Count;
        }

        AssertRecords(from, Total, read);
    }

    /// <summary>
    /// The reader's read, on a thread of its own and awaited only until <see cref="ReadDeadline"/>: a
    /// read that loops without awaiting would not see its cancellation token, and would hold the test
    /// thread if it ran there.
    /// </summary>
    private async Task<List<StoredRecord>> ReadAsync(long from, long to, long maxBytes)
    {
        using var deadline = new CancellationTokenSource(ReadDeadline);
        var reader = node.Dependencies.RecordReader;
        var read = Task.Run(() => reader.ReadAsync(streamId, Name, from, to, maxBytes, deadline.Token), deadline.Token);
        try
        {
            return await read.WaitAsync(ReadDeadline);
        }
        catch (Exception exception) when (exception is TimeoutException or OperationCanceledException)
        {
            throw new TimeoutException($"reading positions {from} to {to} (at most {maxBytes} bytes) did not finish within {ReadDeadline.TotalSeconds} s", exception);
        }
    }

    private static byte[] Payload(int position) => Encoding.UTF8.GetBytes($"record-{position}");

    private static void AssertRecords(long from, long to, List<StoredRecord> records)
    {
        Assert.Equal(
            Enumerable.Range((int)from, (int)(to - from)).Select(position => $"{position}:record-{position}"),
            records.Select(record => $"{record.Position}:{Encoding.UTF8.GetString(record.Payload.Span)}"));
    }
}
