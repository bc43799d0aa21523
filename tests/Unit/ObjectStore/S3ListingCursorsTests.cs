using Minio.DataModel;
using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

public sealed class S3ListingCursorsTests
{
    private const int MaxParkedCursors = 32;
    private static readonly TimeSpan LongerThanParkingLimit = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Should_hand_a_parked_cursor_back_once_when_resumed_with_its_prefix_and_last_key()
    {
        var cursors = new S3ListingCursors(new ManualTimeProvider());
        var cursor = new S3ListingCursor(_ => Items("a", "b"));
        var first = await cursor.NextAsync(CancellationToken.None);

        cursors.Park("p/", first!.Key, cursor);

        Assert.Null(cursors.TryResume("p/", "other"));
        Assert.Null(cursors.TryResume("q/", "a"));
        var resumed = cursors.TryResume("p/", "a");
        Assert.NotNull(resumed);
        Assert.Same(cursor, resumed);
        Assert.Equal("b", (await resumed.NextAsync(CancellationToken.None))!.Key);
        Assert.Null(cursors.TryResume("p/", "a"));
    }

    [Fact]
    public void Should_drop_the_cursor_when_it_stayed_parked_too_long()
    {
        var time = new ManualTimeProvider();
        var cursors = new S3ListingCursors(time);
        cursors.Park("p/", "a", new S3ListingCursor(_ => Items("a")));

        time.Advance(LongerThanParkingLimit);

        Assert.Null(cursors.TryResume("p/", "a"));
    }

    [Fact]
    public void Should_evict_the_oldest_cursor_when_too_many_are_parked()
    {
        var time = new ManualTimeProvider();
        var cursors = new S3ListingCursors(time);
        for (var i = 0; i <= MaxParkedCursors; i++)
        {
            cursors.Park("p/", i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), new S3ListingCursor(_ => Items()));
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(MaxParkedCursors, cursors.ParkedCount);
        Assert.Null(cursors.TryResume("p/", "000"));
        Assert.NotNull(cursors.TryResume("p/", "001"));
    }

    [Fact]
    public async Task Should_return_the_pushed_back_item_first_when_reading_on()
    {
        var cursor = new S3ListingCursor(_ => Items("a", "b"));
        var first = await cursor.NextAsync(CancellationToken.None);

        cursor.PushBack(first!);

        Assert.Equal("a", (await cursor.NextAsync(CancellationToken.None))!.Key);
        Assert.Equal("b", (await cursor.NextAsync(CancellationToken.None))!.Key);
        Assert.Null(await cursor.NextAsync(CancellationToken.None));
    }

    private static async IAsyncEnumerable<Item> Items(params string[] keys)
    {
        foreach (var key in keys)
        {
            await Task.Yield();
            yield return new Item { Key = key };
        }
    }

    private sealed class ManualTimeProvider : TimeProvider
    {
        private long _timestamp;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _timestamp;

        public void Advance(TimeSpan by) => _timestamp += by.Ticks;
    }
}
