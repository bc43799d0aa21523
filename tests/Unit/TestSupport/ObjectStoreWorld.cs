using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.ObjectStore;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// A test's object store: a directory store in a temp directory of its own, behind a
/// <see cref="ControllableObjectStore"/> (hold or fail calls) and a <see cref="CountingObjectStore"/>
/// on the outside, which records every call as it starts, held or not.
/// </summary>
public sealed class ObjectStoreWorld : IDisposable
{
    private readonly TempDirectory directory = new();

    public ObjectStoreWorld()
    {
        FileStore = new FileSystemObjectStore(directory.Path);
        Control = new ControllableObjectStore(FileStore);
        Counting = new CountingObjectStore(Control);
    }

    public FileSystemObjectStore FileStore { get; }

    public ControllableObjectStore Control { get; }

    public CountingObjectStore Counting { get; }

    /// <summary>The store to give to nodes.</summary>
    public IObjectStore Store => Counting;

    public int ManifestGets(string streamName) =>
        Counting.Count(ObjectStoreOperation.Get, ObjectStoreKeys.ManifestKey(streamName));

    public int ManifestPuts(string streamName) =>
        Counting.Count(ObjectStoreOperation.Put, ObjectStoreKeys.ManifestKey(streamName));

    public static Func<string, bool> ManifestOf(string streamName) =>
        key => key == ObjectStoreKeys.ManifestKey(streamName);

    public async Task<StreamManifest> ReadManifestAsync(string streamName)
    {
        var bytes = await FileStore.GetAsync(ObjectStoreKeys.ManifestKey(streamName), CancellationToken.None)
            ?? throw new InvalidOperationException($"no manifest for {streamName}");
        return StreamManifest.Parse(bytes);
    }

    public async Task<byte[]?> ReadManifestBytesAsync(string streamName) =>
        await FileStore.GetAsync(ObjectStoreKeys.ManifestKey(streamName), CancellationToken.None);

    public Task WriteManifestBytesAsync(string streamName, byte[] bytes) =>
        FileStore.PutAsync(ObjectStoreKeys.ManifestKey(streamName), bytes, CancellationToken.None);

    public void Dispose()
    {
        // Nothing may stay parked at a gate once the test is over.
        Control.ClearRules();
        directory.Dispose();
    }
}
