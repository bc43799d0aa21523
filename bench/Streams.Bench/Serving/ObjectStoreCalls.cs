using Streams.Actors.ObjectStore;

namespace Streams.Bench.Serving;

/// <summary>The counting store the server ended up with, so the stats endpoint can read it.</summary>
internal sealed class ObjectStoreCalls
{
    private volatile CountingObjectStore? store;

    public void Attach(CountingObjectStore counting) => store = counting;

    public int Count(ObjectStoreOperation operation) => store?.Count(operation) ?? 0;
}
