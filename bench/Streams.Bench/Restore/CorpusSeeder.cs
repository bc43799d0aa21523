using System.Globalization;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Bench.Http;
using Streams.Bench.Serving;
using Streams.Bench.Stores;

namespace Streams.Bench.Restore;

/// <summary>A published stream as the object store holds it: its manifest and its segments' bytes.</summary>
public sealed record SeedStream(StreamManifest Manifest, IReadOnlyList<byte[]> Segments)
{
    public string Name => Manifest.Name;

    public long RecordCount => Manifest.NextPosition;
}

/// <summary>How the seed corpus is written.</summary>
public sealed record SeedPlan(int Streams, int RecordsPerStream, int SegmentTargetRows);

/// <summary>
/// Writes the seed corpus through the real path: a server started on an empty data directory, streams
/// created and appended to over HTTP, sealed into segments and uploaded by the server's own pipeline,
/// then stopped with SIGTERM so that its drain seals the tails and publishes every manifest, marked as
/// cleanly drained. The published objects are then read back from the store.
/// </summary>
public sealed class CorpusSeeder(BenchStore store, string scratch, TextWriter progress)
{
    public const string SeedPrefix = "build-logs/seed-";

    // Far beyond the seeding time: segments are cut by row count alone, so every run seeds the same
    // layout (whole segments of the target size, then the tail, which the drain seals).
    private const int SegmentMaxAgeMs = 600_000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private const int ClientConnections = 8;

    public async Task<IReadOnlyList<SeedStream>> SeedAsync(string location, SeedPlan plan, CancellationToken cancellationToken)
    {
        var dataDirectory = Path.Combine(scratch, "seed-node");
        Directory.CreateDirectory(dataDirectory);
        string[] flags =
        [
            .. store.ServerFlags(location),
            "--segment-target-rows", plan.SegmentTargetRows.ToString(CultureInfo.InvariantCulture),
            "--segment-max-age-ms", SegmentMaxAgeMs.ToString(CultureInfo.InvariantCulture),
        ];
        var names = Enumerable.Range(0, plan.Streams).Select(i => SeedPrefix + i.ToString(CultureInfo.InvariantCulture)).ToList();
        await using (var server = ServedNode.Start(dataDirectory, flags, TimeSpan.Zero, store.ServerEnvironment(), Path.Combine(scratch, "seed-node.log")))
        {
            await server.WaitUntilHealthyAsync(StartTimeout, cancellationToken);
            using var client = new StreamsClient(server.BaseAddress, ClientConnections, RequestTimeout);
            for (var build = 0; build < names.Count; build++)
            {
                await client.CreateAsync(names[build], BuildLogCorpus.ContentType, cancellationToken);
                for (var index = 0; index < plan.RecordsPerStream; index++)
                {
                    var status = await client.AppendAsync(names[build], BuildLogCorpus.Record(build, index), BuildLogCorpus.ContentType, cancellationToken);
                    if ((int)status / 100 != 2)
                    {
                        throw new InvalidOperationException($"append to {names[build]} answered {(int)status}");
                    }
                }
            }

            // The drain seals each stream's tail and publishes every manifest, marked cleanly drained.
            await server.StopGracefullyAsync(DrainGrace);
        }

        var seeds = await ReadBackAsync(location, names, cancellationToken);
        foreach (var seed in seeds.Where(seed => seed.RecordCount != plan.RecordsPerStream))
        {
            throw new InvalidOperationException($"the manifest of {seed.Name} holds {seed.RecordCount} records, not {plan.RecordsPerStream}");
        }

        await progress.WriteLineAsync(
            $"seeded {seeds.Count} streams x {plan.RecordsPerStream} records in {seeds.Sum(seed => seed.Segments.Count)} segments "
            + $"({seeds.Sum(seed => seed.Segments.Sum(segment => segment.Length))} segment bytes) through the server");
        return seeds;
    }

    private async Task<IReadOnlyList<SeedStream>> ReadBackAsync(string location, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var objects = store.Open(location);
        using var lease = objects as IDisposable;
        var seeds = new List<SeedStream>();
        foreach (var name in names)
        {
            var bytes = await objects.GetAsync(ObjectStoreKeys.ManifestKey(name), cancellationToken)
                ?? throw new InvalidOperationException($"no manifest was published for {name}");
            var manifest = StreamManifest.Parse(bytes);
            var segments = new List<byte[]>();
            for (var index = 0; index < manifest.Segments.Count; index++)
            {
                segments.Add(await objects.GetAsync(ObjectStoreKeys.SegmentKey(name, manifest.Segments.ObjectNameAt(index)), cancellationToken)
                    ?? throw new InvalidOperationException($"segment {index} of {name} is missing"));
            }

            seeds.Add(new SeedStream(manifest, segments));
        }

        return seeds;
    }
}
