using Streams.Actors.ObjectStore;

namespace Streams.Bench.Stores;

/// <summary>
/// Where benchmark data lives: the S3 test server (one bucket, a key prefix per data set) or local
/// directories (one per data set). A data set ("location") is what one server is pointed at.
/// </summary>
public abstract class BenchStore
{
    /// <summary>A short description for tables and logs.</summary>
    public abstract string Describe();

    /// <summary>
    /// Network round trips a store GET costs beyond the one the latency injector models: the projection
    /// to a slower store must add them. Zero for a local directory.
    /// </summary>
    public virtual int ExtraRoundTripsPerGet => 0;

    /// <summary>A store for the benchmark itself to read and write a location directly; dispose it if it is disposable.</summary>
    public abstract IObjectStore Open(string location);

    /// <summary>The server flags that point a server at the location.</summary>
    public abstract IReadOnlyList<string> ServerFlags(string location);

    /// <summary>Environment variables the server needs (credentials are never passed as flags).</summary>
    public abstract IReadOnlyDictionary<string, string> ServerEnvironment();

    /// <summary>Removes everything written to the location.</summary>
    public abstract Task DeleteLocationAsync(string location, CancellationToken cancellationToken);
}

/// <summary>Directories under the benchmark's scratch directory, served by the file-system store.</summary>
public sealed class LocalBenchStore(string root) : BenchStore
{
    public override string Describe() => "local directory store";

    public override IObjectStore Open(string location) => new FileSystemObjectStore(Directory(location));

    public override IReadOnlyList<string> ServerFlags(string location) => ["--object-store", "local", "--object-store-dir", Directory(location)];

    public override IReadOnlyDictionary<string, string> ServerEnvironment() => new Dictionary<string, string>();

    public override Task DeleteLocationAsync(string location, CancellationToken cancellationToken)
    {
        var directory = Directory(location);
        if (System.IO.Directory.Exists(directory))
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }

        return Task.CompletedTask;
    }

    private string Directory(string location) => Path.Combine(root, "objects-" + location);
}

/// <summary>One bucket of an S3-compatible server; each location is a key prefix in it.</summary>
public sealed class S3BenchStore(S3TestServer endpoint, string bucket) : BenchStore
{
    private const int DeleteParallelism = 32;
    private const int ListPageSize = 1000;

    public override string Describe() => $"S3 ({endpoint.Endpoint}, bucket {bucket})";

    // The Minio 7.0.0 SDK sends a HEAD (StatObject) before every GET, as the S3 server's request log shows
    // (one HEAD per manifest GET during an eager restore); the store's one GET is two round trips.
    public override int ExtraRoundTripsPerGet => 1;

    public override IObjectStore Open(string location) => new S3ObjectStore(Options(location));

    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        using var store = new S3ObjectStore(Options(string.Empty));
        await store.EnsureBucketAsync(cancellationToken);
    }

    public override IReadOnlyList<string> ServerFlags(string location) =>
    [
        "--object-store", "s3",
        "--s3-endpoint", endpoint.Endpoint,
        "--s3-bucket", bucket,
        "--s3-region", endpoint.Region,
        "--s3-prefix", location,
    ];

    public override IReadOnlyDictionary<string, string> ServerEnvironment() => new Dictionary<string, string>
    {
        ["STREAMS_S3_ACCESS_KEY"] = endpoint.AccessKey,
        ["STREAMS_S3_SECRET_KEY"] = endpoint.SecretKey,
    };

    public override async Task DeleteLocationAsync(string location, CancellationToken cancellationToken)
    {
        using var store = new S3ObjectStore(Options(location));
        while (true)
        {
            // Listed afresh after every page of deletes: a continuation token may point at deleted keys.
            var page = await store.ListAsync(string.Empty, null, ListPageSize, cancellationToken);
            if (page.Objects.Count == 0)
            {
                return;
            }

            await Parallel.ForEachAsync(
                page.Objects,
                new ParallelOptions { MaxDegreeOfParallelism = DeleteParallelism, CancellationToken = cancellationToken },
                async (entry, token) => await store.DeleteAsync(entry.Key, token));
        }
    }

    private S3ObjectStoreOptions Options(string location) => endpoint.Options(bucket, location.Length == 0 ? null : location);
}
