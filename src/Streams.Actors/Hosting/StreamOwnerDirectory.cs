using System.Collections.Concurrent;
using Akka.Actor;
using Streams.Actors.Config;
using Streams.Actors.Protocol;

namespace Streams.Actors.Hosting;

/// <summary>Where a stream is served: this node, or another node's HTTP base URL.</summary>
public sealed record StreamOwner(string NodeName, string HttpBaseUrl, bool IsLocal);

/// <summary>
/// Finds a stream's owner in a cluster. A stream owned here is known without a message; otherwise
/// the shard region is asked through its proxy (<see cref="StreamsNode.Locator"/>), which starts the
/// owner where the shard lives, and the answer is kept for <c>streams.cluster.owner-cache-ttl</c>. A
/// stale answer costs one "moving" reply and a new question.
/// </summary>
public sealed class StreamOwnerDirectory(StreamsNode node, StreamsSettings settings, TimeProvider clock)
{
    /// <summary>Past this many remembered owners the cache starts over rather than grow without bound.</summary>
    private const int MaxRemembered = 100_000;

    /// <summary>
    /// A where-is question is small and answered at once (even while the stream hydrates); no answer
    /// this soon means the region is busy moving shards or gone, and the caller asks again.
    /// </summary>
    private static readonly TimeSpan LocateTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (StreamOwner Owner, DateTimeOffset Until)> remembered = new(StringComparer.Ordinal);

    /// <summary>The owner, or null while the stream is moving (ask again after a pause).</summary>
    public async Task<StreamOwner?> LocateAsync(string streamName, CancellationToken cancellationToken)
    {
        if (node.TryGetLocalOwner(streamName, out _) && node.HttpBaseUrl is { } localUrl)
        {
            return new StreamOwner(node.Name, localUrl, IsLocal: true);
        }

        var now = clock.GetUtcNow();
        if (remembered.TryGetValue(streamName, out var entry) && entry.Until > now)
        {
            return entry.Owner;
        }

        if (node.Locator is not { } locator)
        {
            return null;
        }

        object reply;
        try
        {
            reply = await locator.Ask<object>(new PlacementMessages.LocateOwner(streamName), LocateTimeout, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            return null;
        }

        if (reply is not PlacementMessages.OwnerLocated located)
        {
            return null;
        }

        var owner = new StreamOwner(located.NodeName, located.HttpBaseUrl, IsLocal: located.NodeName == node.Name);
        if (!owner.IsLocal)
        {
            if (remembered.Count >= MaxRemembered)
            {
                remembered.Clear();
            }

            remembered[streamName] = (owner, now + settings.OwnerCacheTtl);
        }

        return owner;
    }

    /// <summary>The remembered owner turned out wrong (it refused the connection or said "moving").</summary>
    public void Forget(string streamName) => remembered.TryRemove(streamName, out _);
}
