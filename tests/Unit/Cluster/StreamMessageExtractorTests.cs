using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Protocol;
using Xunit;
using static Streams.Actors.Protocol.StreamCommands;

namespace Streams.Tests.Unit.Cluster;

public sealed class StreamMessageExtractorTests
{
    private const int ShardCount = 100;
    private readonly StreamMessageExtractor extractor = new(ShardCount);

    [Fact]
    public void Should_use_the_stream_name_as_the_entity_when_the_message_is_a_stream_command()
    {
        Assert.Equal("orders/eu", extractor.EntityId(new DescribeStream("orders/eu")));
        Assert.Equal("orders/eu", extractor.EntityId(new PlacementMessages.LocateOwner("orders/eu")));
        Assert.Equal("orders/eu", extractor.EntityId(new ForkMessages.ForkReleased("orders/eu")));
    }

    [Fact]
    public void Should_name_no_entity_when_the_message_is_not_about_a_stream()
    {
        Assert.Null(extractor.EntityId("not a command"));
    }

    [Fact]
    public void Should_route_every_message_of_a_stream_to_one_shard_when_the_messages_differ()
    {
        var shards = new[]
        {
            ShardOf(extractor, new DescribeStream("orders/eu")),
            ShardOf(extractor, new PlacementMessages.LocateOwner("orders/eu")),
            ShardOf(extractor, new ReadStream("orders/eu", ReadStart.Beginning, null, 1)),
            ShardOf(new StreamMessageExtractor(ShardCount), new DeleteStream("orders/eu")),
        };

        Assert.Single(shards.Distinct());
    }

    [Fact]
    public void Should_spread_streams_over_every_shard_within_the_configured_count_when_there_are_many()
    {
        var shards = Enumerable.Range(0, 10_000)
            .Select(i => int.Parse(ShardOf(extractor, new DescribeStream($"stream-{i}"))!, System.Globalization.CultureInfo.InvariantCulture))
            .ToList();

        Assert.All(shards, shard => Assert.InRange(shard, 0, ShardCount - 1));
        Assert.Equal(ShardCount, shards.Distinct().Count());
    }

    [Fact]
    public void Should_give_the_same_shard_in_every_process_when_the_name_is_the_same()
    {
        // MurmurHash of the name, not string.GetHashCode (randomised per process): pinned values.
        Assert.Equal(ShardOf(extractor, new DescribeStream("a")), ShardOf(new StreamMessageExtractor(ShardCount), new DescribeStream("a")));
        Assert.Equal(
            Math.Abs(Akka.Util.MurmurHash.StringHash("orders/eu") % ShardCount).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ShardOf(extractor, new DescribeStream("orders/eu")));
    }

    private static string ShardOf(StreamMessageExtractor extractor, IStreamCommand command) =>
        extractor.ShardId(extractor.EntityId(command)!, command);
}
