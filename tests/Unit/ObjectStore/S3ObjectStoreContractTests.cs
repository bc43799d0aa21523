using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>
/// The contract suite against a real S3 server (scripts/s3-test-server.sh). The class shares
/// one fresh bucket; each test works under a key prefix of its own.
/// </summary>
[RequiresS3]
public sealed class S3ObjectStoreContractTests : ObjectStoreContractTests, IClassFixture<S3TestBucket>
{
    private readonly S3TestBucket _bucket;
    private readonly string _keyPrefix = "test-" + Guid.NewGuid().ToString("N");

    public S3ObjectStoreContractTests(S3TestBucket bucket)
    {
        _bucket = bucket;
    }

    protected override async Task<IObjectStore> CreateStoreAsync()
    {
        await _bucket.EnsureCreatedAsync();
        return _bucket.OpenStore(_keyPrefix);
    }

    protected override IObjectStore OpenAnotherInstance() => _bucket.OpenStore(_keyPrefix);

    protected override Task DeleteStoreAsync() => _bucket.DeleteObjectsAsync(_keyPrefix);
}
