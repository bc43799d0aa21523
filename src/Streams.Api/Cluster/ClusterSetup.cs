using System.Net;
using System.Net.Sockets;
using Streams.Actors.Hosting;
using Streams.Actors.Restore;

namespace Streams.Api.Cluster;

/// <summary>Turns the deployment settings into the engine's cluster options, or says why it cannot start.</summary>
internal static class ClusterSetup
{
    /// <summary>
    /// Null options and null problem: a single node. A cluster node needs the shared object store:
    /// each node hydrates streams the others published, which a node-local directory cannot give.
    /// </summary>
    public static StreamsClusterOptions? Build(ServerOptions options, bool sharedObjectStore, RestoreMode restoreMode, out string? problem)
    {
        problem = null;
        if (!options.Clustered)
        {
            return null;
        }

        if (!sharedObjectStore)
        {
            problem = "cluster mode needs a shared object store (--object-store s3 ...): every node hydrates the streams "
                + "the others published, and the local directory store (--object-store local, the default) belongs to one node";
            return null;
        }

        if (restoreMode == RestoreMode.Eager)
        {
            problem = "cluster mode restores each stream lazily on the node that is handed it; "
                + "--bootstrap-from-object-store (eager restore) does not apply";
            return null;
        }

        var publicHost = options.ClusterHost is { Length: > 0 } host ? host : DefaultPublicHost(options.Host);
        return new StreamsClusterOptions
        {
            SeedNodes = options.SeedNodeList(),
            BindHost = options.Host,
            PublicHost = publicHost,
            Port = options.ClusterPort ?? 0,
            Roles = options.ClusterRole is { Length: > 0 } role ? [role] : [],
            ShardRole = options.ClusterRole is { Length: > 0 } shardRole ? shardRole : null,
            HttpBaseUrl = options.Port == 0 ? null : HttpBaseUrl(publicHost, options.Port),
        };
    }

    /// <summary>The URL other nodes forward requests to: scheme, public host and the HTTP port.</summary>
    public static string HttpBaseUrl(string publicHost, int port) =>
        IPAddress.TryParse(publicHost, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"http://[{publicHost}]:{port}"
            : $"http://{publicHost}:{port}";

    /// <summary>The listen address when it names one interface, else the machine's name.</summary>
    private static string DefaultPublicHost(string listenHost) =>
        IPAddress.TryParse(listenHost, out var address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any)
            ? listenHost
            : Dns.GetHostName();
}
