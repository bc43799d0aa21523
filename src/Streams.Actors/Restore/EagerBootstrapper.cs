using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Restore;

/// <summary>Where a node is in its start-up restore; <c>/health</c> reports it.</summary>
public sealed class RestoreStatus
{
    private long total;
    private long done;
    private long failed;
    private volatile bool restoring;

    public bool IsRestoring => restoring;

    public long Total => Interlocked.Read(ref total);

    public long Done => Interlocked.Read(ref done);

    public long Failed => Interlocked.Read(ref failed);

    /// <summary>Names of streams whose manifest could not be restored, with the reason.</summary>
    public ConcurrentDictionary<string, string> Quarantined { get; } = new(StringComparer.Ordinal);

    internal void Begin() => restoring = true;

    internal void SetTotal(long value) => Interlocked.Exchange(ref total, value);

    internal void CountDone() => Interlocked.Increment(ref done);

    internal void CountFailed() => Interlocked.Increment(ref failed);

    internal void Finish() => restoring = false;
}

/// <summary>
/// The eager restore: list every manifest, then restore them with bounded parallelism. One bad
/// manifest is logged and its stream quarantined; the others restore. A progress line is logged at
/// a fixed interval. Cost grows with the backlog — which is why the lazy mode exists.
/// </summary>
public sealed class EagerBootstrapper(
    IObjectStore objectStore,
    StreamHydrator hydrator,
    RestoreStatus status,
    int parallelism,
    TimeSpan progressInterval,
    ILogger<EagerBootstrapper> logger)
{
    private const int ListPageSize = 1000;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        status.Begin();
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var manifestKeys = await ListManifestKeysAsync(cancellationToken);
            status.SetTotal(manifestKeys.Count);
            logger.LogInformation(
                "Restore: {Total} manifests listed in {Elapsed} ms; restoring {Parallelism} at a time",
                manifestKeys.Count,
                stopwatch.ElapsedMilliseconds,
                parallelism);
            using var progress = new Timer(_ => LogProgress(stopwatch), null, progressInterval, progressInterval);
            await Parallel.ForEachAsync(
                manifestKeys,
                new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
                async (key, token) => await RestoreOneAsync(key, token));
            LogProgress(stopwatch);
            logger.LogInformation(
                "Restore complete: {Done} streams restored, {Failed} quarantined, {Elapsed:F1} s",
                status.Done,
                status.Failed,
                stopwatch.Elapsed.TotalSeconds);
        }
        finally
        {
            status.Finish();
        }
    }

    private async Task<List<string>> ListManifestKeysAsync(CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        string? continuation = null;
        do
        {
            var page = await objectStore.ListAsync(ObjectStoreKeys.StreamsPrefix, continuation, ListPageSize, cancellationToken);
            keys.AddRange(page.Objects.Select(entry => entry.Key).Where(ObjectStoreKeys.IsManifestKey));
            continuation = page.ContinuationToken;
        }
        while (continuation is not null);

        return keys;
    }

    private async Task RestoreOneAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var read = await objectStore.GetVersionedAsync(key, cancellationToken)
                ?? throw new InvalidDataException("the manifest disappeared between listing and reading");
            var manifest = StreamManifest.Parse(read.Content);
            if (ObjectStoreKeys.ManifestKey(manifest.Name) != key)
            {
                throw new InvalidDataException($"the manifest names stream '{manifest.Name}', which does not belong at this key");
            }

            await hydrator.RestoreAsync(manifest, read.Version, cancellationToken);
            status.CountDone();
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not OutOfMemoryException)
        {
            status.CountFailed();
            status.Quarantined[key] = exception.Message;
            logger.LogError("Restore: quarantined {Key}: {Reason}", key, exception.Message);
        }
    }

    private void LogProgress(Stopwatch stopwatch)
    {
        var seconds = Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001);
        var finished = status.Done + status.Failed;
        logger.LogInformation(
            "Restore progress: {Finished}/{Total} streams, {Rate:F0} streams/s, {Failed} errors",
            finished,
            status.Total,
            finished / seconds,
            status.Failed);
    }
}
