using System.Collections.Concurrent;
using Akka.Actor;

namespace Streams.Actors.Hosting;

/// <summary>
/// This node as the rest of the cluster sees it: its name, the HTTP base URL it advertises, the
/// shard region that routes stream messages, and the stream owners alive in this process (so a
/// request for a local stream goes straight to its owner). Shared by the actors and the front door.
/// </summary>
public sealed class StreamsNode
{
    private readonly ConcurrentDictionary<string, IActorRef> localOwners = new(StringComparer.Ordinal);
    private volatile string? httpBaseUrl;
    private volatile string name;
    private volatile IActorRef? region;
    private volatile IActorRef? locator;
    // Lives as long as the process (the node is a singleton); it has no timer or wait handle to release.
    private readonly CancellationTokenSource listenerClosing = new();
    private volatile Akka.Cluster.Cluster? membership;

    public StreamsNode(StreamsClusterOptions? cluster, string name)
    {
        Cluster = cluster;
        this.name = name;
        httpBaseUrl = cluster?.HttpBaseUrl;
    }

    /// <summary>Null on a single node.</summary>
    public StreamsClusterOptions? Cluster { get; }

    public bool Clustered => Cluster is not null;

    /// <summary>The cluster member address (cluster) or the host name (single node).</summary>
    public string Name => name;

    public string? HttpBaseUrl => httpBaseUrl;

    /// <summary>The shard region; null until the actor system has started it (and on a single node).</summary>
    public IActorRef? Region => region;

    /// <summary>
    /// Where where-is questions go: a proxy of the shard region, which keeps finding owners on the
    /// other nodes after this node's own region has handed off its shards and stopped (a leaving node
    /// still serves and forwards requests until its listener closes).
    /// </summary>
    public IActorRef? Locator => locator ?? region;

    /// <summary>Cancelled when a leaving node is about to close its listener: live reads it forwards end then.</summary>
    public CancellationToken ListenerClosing => listenerClosing.Token;

    /// <summary>How many stream owners run on this node (cluster mode).</summary>
    public int LocalOwnerCount => localOwners.Count;

    public void Advertise(string baseUrl) => httpBaseUrl = baseUrl.TrimEnd('/');

    /// <summary>This member's status (Joining, Up, Leaving, ...); null on a single node and before the start.</summary>
    public string? MemberStatus => membership?.SelfMember.Status.ToString();

    public void Started(IActorRef shardRegion, Akka.Cluster.Cluster cluster, IActorRef? regionProxy = null)
    {
        region = shardRegion;
        locator = regionProxy;
        membership = cluster;
        name = cluster.SelfAddress.ToString();
    }

    public void CloseListener() => listenerClosing.Cancel();

    public void RegisterOwner(string streamName, IActorRef owner) => localOwners[streamName] = owner;

    /// <summary>Forgets <paramref name="owner"/>, and only it: a newer owner of the name stays registered.</summary>
    public void UnregisterOwner(string streamName, IActorRef owner) =>
        localOwners.TryRemove(KeyValuePair.Create(streamName, owner));

    public bool TryGetLocalOwner(string streamName, out IActorRef owner) =>
        localOwners.TryGetValue(streamName, out owner!);
}
