using Minio;
using Minio.DataModel.Args;
using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>
/// A bucket of one test class's own on the S3 test server, created on first use and removed
/// with its contents when the class is done. Does nothing when the server is not configured:
/// the tests are then skipped, or fail through <see cref="S3TestServer.Require"/>.
/// </summary>
public sealed class S3TestBucket : IAsyncLifetime
{
    private const int CleanupPageSize = 1000;
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _createOnce = new(1, 1);
    private bool _created;

    public string Name { get; } = "streams-test-" + Guid.NewGuid().ToString("N");

    public async Task EnsureCreatedAsync()
    {
        var server = S3TestServer.Require();
        await _createOnce.WaitAsync();
        try
        {
            if (_created)
            {
                return;
            }

            using var store = new S3ObjectStore(server.Options(Name));
            using var timeout = new CancellationTokenSource(CleanupTimeout);
            await store.EnsureBucketAsync(timeout.Token);
            _created = true;
        }
        finally
        {
            _createOnce.Release();
        }
    }

    public S3ObjectStore OpenStore(string? keyPrefix = null) => new(S3TestServer.Require().Options(Name, keyPrefix));

    public async Task DeleteObjectsAsync(string? keyPrefix = null)
    {
        if (!_created)
        {
            return;
        }

        using var store = OpenStore(keyPrefix);
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        string? token = null;
        var keys = new List<string>();
        do
        {
            var page = await store.ListAsync("", token, CleanupPageSize, timeout.Token);
            keys.AddRange(page.Objects.Select(entry => entry.Key));
            token = page.ContinuationToken;
        }
        while (token is not null);

        foreach (var key in keys)
        {
            await store.DeleteAsync(key, timeout.Token);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            if (!_created)
            {
                return;
            }

            await DeleteObjectsAsync();
            var server = S3TestServer.Require();
            var endpoint = new Uri(server.Endpoint);
            using var client = new MinioClient()
                .WithEndpoint(endpoint.Host, endpoint.Port)
                .WithRegion(server.Region)
                .WithCredentials(server.AccessKey, server.SecretKey)
                .Build();
            using var timeout = new CancellationTokenSource(CleanupTimeout);
            await client.RemoveBucketAsync(new RemoveBucketArgs().WithBucket(Name), timeout.Token);
        }
        finally
        {
            _createOnce.Dispose();
        }
    }
}
