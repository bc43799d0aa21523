using System.Diagnostics;
using System.Globalization;
using Streams.Actors.ObjectStore;
using Streams.Bench.Stores;

namespace Streams.Bench.Restore;

/// <summary>A stream in a replicated data set and the number of records a reader must find in it.</summary>
public sealed record ReplicatedStream(string Name, long RecordCount);

/// <summary>What a data set of N streams consists of.</summary>
public sealed record DataSet(string Location, IReadOnlyList<ReplicatedStream> Streams, int Objects, TimeSpan WriteTime);

/// <summary>
/// Grows the seed corpus to N streams without pushing N streams through a server: the seed streams are
/// copied as they are, then copied again under new names — each copy's segments byte for byte and its
/// manifest with only the name changed, written to the keys of the new name. Segments carry no stream
/// name, so a copy is exactly what the server would have published for the same appends under that name.
/// </summary>
public sealed class Replicator(BenchStore store, TextWriter progress)
{
    public const string ReplicaPrefix = "build-logs/replica-";

    // Enough requests in flight to keep a loopback S3 server busy without queueing in the client.
    private const int WriteParallelism = 32;

    public async Task<DataSet> WriteAsync(string location, IReadOnlyList<SeedStream> seeds, int count, CancellationToken cancellationToken)
    {
        var objects = store.Open(location);
        using var lease = objects as IDisposable;
        var streams = new ReplicatedStream[count];
        var written = 0;
        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = WriteParallelism, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var seed = seeds[index % seeds.Count];
                var name = index < seeds.Count ? seed.Name : ReplicaPrefix + index.ToString("D6", CultureInfo.InvariantCulture);
                // Segments before the manifest, as the uploader does: a manifest only names uploaded segments.
                for (var segment = 0; segment < seed.Segments.Count; segment++)
                {
                    await objects.PutAsync(ObjectStoreKeys.SegmentKey(name, seed.Manifest.Segments.ObjectNameAt(segment)), seed.Segments[segment], token);
                }

                var manifest = seed.Manifest with { Name = name };
                await objects.PutAsync(ObjectStoreKeys.ManifestKey(name), manifest.ToJson(), token);
                streams[index] = new ReplicatedStream(name, seed.RecordCount);
                Interlocked.Add(ref written, seed.Segments.Count + 1);
            });
        await progress.WriteLineAsync(
            $"wrote {count} streams ({written} objects) to {location} in {stopwatch.Elapsed.TotalSeconds:F1} s");
        return new DataSet(location, streams, written, stopwatch.Elapsed);
    }
}
