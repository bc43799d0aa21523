using Streams.Actors.ObjectStore;

namespace Streams.Tests.Unit.ObjectStore;

public sealed class FileSystemObjectStoreContractTests : ObjectStoreContractTests
{
    private readonly TempDirectory _directory = new();

    protected override Task<IObjectStore> CreateStoreAsync() =>
        Task.FromResult<IObjectStore>(new FileSystemObjectStore(_directory.Path));

    protected override IObjectStore OpenAnotherInstance() => new FileSystemObjectStore(_directory.Path);

    protected override Task DeleteStoreAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}
