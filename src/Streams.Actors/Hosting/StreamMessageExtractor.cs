using Akka.Cluster.Sharding;
using Streams.Actors.Protocol;

namespace Streams.Actors.Hosting;

/// <summary>
/// The one way a message finds its stream, on a single node (the supervisor) and in a cluster (the
/// shard region): the entity is the stream's name, the shard a stable hash of it. MurmurHash, not
/// <see cref="string.GetHashCode()"/>, which differs between processes: every node must agree.
/// </summary>
public sealed class StreamMessageExtractor(int shardCount) : HashCodeMessageExtractor(shardCount)
{
    public override string? EntityId(object message) => message switch
    {
        IStreamCommand command => command.StreamName,
        _ => null,
    };
}
