using Streams.Tests.Unit.EndToEnd;
using Streams.Tests.Unit.Support;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// What a test with real cluster members leaves behind, in the order it must go: the servers
/// (they hold the data directories open and use the bucket), their directories, then the bucket.
/// </summary>
internal static class ClusterProcessTeardown
{
    public static async Task DisposeAllAsync(IEnumerable<ServerProcess> servers, IEnumerable<TestDirectory> directories, EndToEndStore? store)
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        foreach (var directory in directories)
        {
            directory.Dispose();
        }

        if (store is not null)
        {
            await store.DisposeAsync();
        }
    }
}
