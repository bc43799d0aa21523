namespace Streams.Actors.Hosting;

/// <summary>
/// How a node joins a cluster. Given to the engine only in cluster mode: without it the server is
/// one process with no remoting port.
/// </summary>
public sealed record StreamsClusterOptions
{
    /// <summary>Addresses of the nodes to join (<c>akka.tcp://streams@host:port</c>); empty: join itself.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>Address to bind the remoting port on (an IP address or 0.0.0.0).</summary>
    public required string BindHost { get; init; }

    /// <summary>The name other nodes reach this one by, for remoting and for HTTP.</summary>
    public required string PublicHost { get; init; }

    /// <summary>The remoting port; 0 lets the operating system choose (tests).</summary>
    public int Port { get; init; }

    /// <summary>Cluster roles of this node; shards are placed only on nodes with <see cref="ShardRole"/> when set.</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Only nodes with this role host streams; null: every node.</summary>
    public string? ShardRole { get; init; }

    /// <summary>
    /// This node's HTTP base URL (<c>http://public-host:port</c>) as other nodes should use it; null
    /// until the listener is up when the HTTP port is chosen by the operating system.
    /// </summary>
    public string? HttpBaseUrl { get; init; }
}
