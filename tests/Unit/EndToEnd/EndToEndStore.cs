using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.ObjectStore;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>The object store that the nodes of one end-to-end test share, and the flags that point a server at it.</summary>
public abstract class EndToEndStore : IAsyncDisposable
{
    /// <summary>Flags selecting this store; every node of the test gets the same ones.</summary>
    public abstract IReadOnlyList<string> ServerArguments { get; }

    /// <summary>Environment a server needs for this store (credentials).</summary>
    public virtual IReadOnlyDictionary<string, string> ServerEnvironment { get; } = new Dictionary<string, string>();

    /// <summary>A client of the same store, for the test itself.</summary>
    public abstract IObjectStore Open();

    public abstract ValueTask DisposeAsync();

    /// <summary>
    /// Publishes <paramref name="count"/> manifests of empty, cleanly drained streams straight to the
    /// store: a backlog that costs an eager restore one GET each and a lazy one nothing.
    /// </summary>
    public async Task SeedEmptyStreamsAsync(string prefix, int count)
    {
        var store = Open();
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await Parallel.ForEachAsync(
                Enumerable.Range(0, count),
                new ParallelOptions { MaxDegreeOfParallelism = 16 },
                async (i, token) =>
                {
                    var name = $"{prefix}{i:D4}";
                    var manifest = new StreamManifest
                    {
                        Name = name,
                        Generation = 1,
                        ContentType = ContentTypes.Default,
                        CreatedAtMs = now,
                        UpdatedAtMs = now,
                        DrainedClean = true,
                    };
                    await store.PutAsync(ObjectStoreKeys.ManifestKey(name), manifest.ToJson(), token);
                });
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }
}

/// <summary>The embedded local-directory store, shared by pointing every node at one directory.</summary>
public sealed class LocalDirectoryStore : EndToEndStore
{
    private readonly TempDirectory directory = new();

    public override IReadOnlyList<string> ServerArguments => ["--object-store", "local", "--object-store-dir", directory.Path];

    public override IObjectStore Open() => new FileSystemObjectStore(directory.Path);

    public override ValueTask DisposeAsync()
    {
        directory.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A bucket of the test's own on the S3 test server (Ceph RGW), removed afterwards.</summary>
public sealed class S3BucketStore : EndToEndStore
{
    private readonly S3TestBucket bucket = new();
    private readonly S3TestServer server = S3TestServer.Require();

    private S3BucketStore()
    {
    }

    public override IReadOnlyList<string> ServerArguments =>
        ["--object-store", "s3", "--s3-endpoint", server.Endpoint, "--s3-bucket", bucket.Name, "--s3-region", server.Region];

    public override IReadOnlyDictionary<string, string> ServerEnvironment => new Dictionary<string, string>
    {
        ["STREAMS_S3_ACCESS_KEY"] = server.AccessKey,
        ["STREAMS_S3_SECRET_KEY"] = server.SecretKey,
    };

    public static async Task<S3BucketStore> CreateAsync()
    {
        var store = new S3BucketStore();
        // Created here so that cleanup knows to remove it; the servers find it already there.
        await store.bucket.EnsureCreatedAsync();
        return store;
    }

    public override IObjectStore Open() => bucket.OpenStore();

    public override async ValueTask DisposeAsync() => await bucket.DisposeAsync();
}
