using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;

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
/// The eager restore: list every manifest, fetch them with bounded parallelism, and write the rows
/// of many streams per transaction. Fetching and writing overlap: while one batch commits, the
/// fetches fill the next, so no fetch waits for an fsync. One bad manifest is logged and its stream
/// quarantined; the others restore. A progress line is logged at a fixed interval. Cost grows with
/// the backlog — which is why the lazy mode exists.
/// </summary>
/// <remarks>
/// A batch is one transaction, so a crash leaves every stream either fully written or absent; the
/// next start lists every manifest again and writes the absent ones (a stream that already has a
/// row is left alone).
/// </remarks>
public sealed class EagerBootstrapper(
    IObjectStore objectStore,
    StreamHydrator hydrator,
    RestoreStatus status,
    int parallelism,
    TimeSpan progressInterval,
    ILogger<EagerBootstrapper> logger,
    int streamsPerCommit = EagerBootstrapper.DefaultStreamsPerCommit)
{
    /// <summary>The default of <c>streams.restore.streams-per-commit</c>.</summary>
    public const int DefaultStreamsPerCommit = 500;

    private const int ListPageSize = 1000;

    private sealed record Fetched(string Key, StreamToRestore Stream);

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
            // Bounded to one batch: fetches run ahead of the writer by at most the batch being filled.
            var fetched = Channel.CreateBounded<Fetched>(new BoundedChannelOptions(streamsPerCommit) { SingleReader = true });
            var writing = WriteBatchesAsync(fetched, cancellationToken);
            try
            {
                await Parallel.ForEachAsync(
                    manifestKeys,
                    new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
                    async (key, token) => await FetchOneAsync(key, fetched.Writer, token));
            }
            finally
            {
                fetched.Writer.TryComplete();
                await writing;
            }

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

    /// <summary>
    /// Fetches one manifest. A plain live stream goes to the writer; a fork (its source first) or a
    /// tombstone is written here, on its own.
    /// </summary>
    private async Task FetchOneAsync(string key, ChannelWriter<Fetched> batches, CancellationToken cancellationToken)
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

            if (StreamHydrator.IsBatchable(manifest))
            {
                await batches.WriteAsync(new Fetched(key, hydrator.ToRestore(manifest, read.Version)), cancellationToken);
                return;
            }

            await hydrator.RestoreAsync(manifest, read.Version, cancellationToken);
            status.CountDone();
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not OutOfMemoryException)
        {
            Quarantine(key, exception);
        }
    }

    /// <summary>
    /// Takes whatever has been fetched (up to a batch) and commits it, until the fetches are over.
    /// The first batch is small (what the first fetches found); later ones fill up while the
    /// previous one commits.
    /// </summary>
    private async Task WriteBatchesAsync(Channel<Fetched> fetched, CancellationToken cancellationToken)
    {
        try
        {
            var batch = new List<Fetched>(streamsPerCommit);
            while (await fetched.Reader.WaitToReadAsync(cancellationToken))
            {
                batch.Clear();
                while (batch.Count < streamsPerCommit && fetched.Reader.TryRead(out var stream))
                {
                    batch.Add(stream);
                }

                await WriteBatchAsync(batch);
                CrashPoints.Reach(CrashPoints.RestoreBatchCommitted);
            }
        }
        catch (Exception exception)
        {
            // No fetch may wait for room in the channel once nothing reads it.
            fetched.Writer.TryComplete(exception);
            throw;
        }
    }

    private async Task WriteBatchAsync(List<Fetched> batch)
    {
        var failures = await hydrator.RestoreBatchAsync([.. batch.Select(item => item.Stream)]);
        for (var index = 0; index < batch.Count; index++)
        {
            if (failures[index] is { } failure)
            {
                Quarantine(batch[index].Key, failure);
            }
            else
            {
                status.CountDone();
            }
        }
    }

    private void Quarantine(string key, Exception exception)
    {
        status.CountFailed();
        status.Quarantined[key] = exception.Message;
        logger.LogError("Restore: quarantined {Key}: {Reason}", key, exception.Message);
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
