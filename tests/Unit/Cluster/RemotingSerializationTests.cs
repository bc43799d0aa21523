using Akka.Actor;
using Akka.Actor.Setup;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Protocol;
using Streams.Actors.Storage;
using Xunit;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Messages that cross remoting are rebuilt by the actor system's JSON serializer on the other
/// node. A collection expression (<c>[record]</c>) given to an <c>IReadOnlyList&lt;T&gt;</c>
/// makes a compiler type the serializer could not rebuild, and the message was dropped there.
/// </summary>
public sealed class RemotingSerializationTests : IDisposable
{
    private readonly ActorSystem system = ActorSystem.Create(
        "remoting-serialization",
        BootstrapSetup.Create().And(RemotingSerialization.Setup));

    public void Dispose() => system.Dispose();

    [Fact]
    public void Should_rebuild_an_append_whose_records_are_a_single_element_collection_expression()
    {
        var append = new StreamCommands.AppendToStream("s", "application/json", [[1, 2, 3]], Close: false, StreamSeq: "7", Producer: null);

        var rebuilt = RoundTrip(append);

        Assert.Equal([1, 2, 3], Assert.Single(rebuilt.Records));
        Assert.Equal("7", rebuilt.StreamSeq);
    }

    [Fact]
    public void Should_rebuild_a_create_whose_records_are_a_collection_expression_of_several()
    {
        var create = new StreamCommands.CreateStream("s", "text/plain", TtlSeconds: 60, ExpiresAt: null, Closed: false, [[1], [2, 2]]);

        var rebuilt = RoundTrip(create);

        Assert.Equal(2, rebuilt.InitialRecords.Count);
        Assert.Equal([2, 2], rebuilt.InitialRecords[1]);
        Assert.Equal(60, rebuilt.TtlSeconds);
    }

    [Fact]
    public void Should_rebuild_a_fork_description_whose_lists_are_spread_collection_expressions()
    {
        IEnumerable<EpochStart> epochs = [new EpochStart(1, 0), new EpochStart(2, 40)];
        var described = new ForkMessages.ForkSourceDescribed(
            StreamId: 9,
            Name: "source",
            ContentType: "application/json",
            TtlSeconds: null,
            ExpiresAtMs: null,
            ForkPosition: 50,
            Epochs: [.. epochs],
            Lineage: [new LineageEntry(9, "source", 0)],
            Prefix: []);

        var rebuilt = RoundTrip(described);

        Assert.Equal(epochs, rebuilt.Epochs);
        Assert.Equal(new LineageEntry(9, "source", 0), Assert.Single(rebuilt.Lineage));
        Assert.Empty(rebuilt.Prefix);
    }

    private T RoundTrip<T>(T message)
        where T : class
    {
        var serialization = system.Serialization;
        var serializer = serialization.FindSerializerFor(message);
        var bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Assert.IsType<T>(serialization.Deserialize(bytes, serializer.Identifier, manifest));
    }
}
