using Streams.Actors.Domain;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.PipelineMessages;

namespace Streams.Actors.Hosting;

/// <summary>
/// The graceful drain on shutdown: refuse new appends, stop compaction (a compaction in flight is
/// called off and waited for, so the final publish lists a layout no compaction changes after it),
/// wait for the appends already accepted to commit, seal every tail, upload and publish every stream
/// with manifests marked cleanly drained.
/// Bounded by <c>streams.drain-timeout</c>; what is not published by then stays in the local WAL.
/// </summary>
internal sealed class DrainCoordinator(
    DrainState drain,
    CompactionGate compaction,
    WalWriter walWriter,
    IRequiredActor<SegmenterActor> segmenter,
    IRequiredActor<UploaderActor> uploader,
    StreamsSettings settings,
    ILogger<DrainCoordinator> logger) : IHostedService
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    private readonly Lock gate = new();
    private Task? drained;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Drains once however often it is called. A host can be stopped twice at the same time (its
    /// own shutdown wait and a caller's <c>StopAsync</c>, as the in-memory test server does); a
    /// second drain would ask actors the first drain's host has already stopped and wait out the
    /// whole drain timeout for answers that never come.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            drained ??= DrainAsync(cancellationToken);
        }

        return drained.WaitAsync(cancellationToken);
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var deadline = started + settings.DrainTimeout;
        drain.Begin();
        logger.LogInformation("Draining: appends refused; sealing and publishing every stream (timeout {Timeout})", settings.DrainTimeout);
        try
        {
            await compaction.CloseAsync().WaitAsync(Remaining(deadline), cancellationToken);
            // Every append acknowledged from here on is already committed: the barrier commits after them.
            await walWriter.Submit(new BarrierOperation()).WaitAsync(Remaining(deadline), cancellationToken);
            var segmenterRef = await segmenter.GetAsync(cancellationToken);
            var uploaderRef = await uploader.GetAsync(cancellationToken);
            for (var round = 1; ; round++)
            {
                var sealedAll = await segmenterRef.Ask<AllSealed>(new SealAll(), Remaining(deadline), cancellationToken);
                var published = await uploaderRef.Ask<AllPublished>(new PublishAll(Draining: true), Remaining(deadline), cancellationToken);
                logger.LogInformation(
                    "Drain round {Round}: {Sealed} streams sealed, {Published} published, {Failed} failed, {Tombstones} tombstones",
                    round,
                    sealedAll.StreamsSealed,
                    published.Published,
                    published.Failed,
                    published.TombstonesPublished);
                if (published.Failed == 0 && published.Error is null && sealedAll.Error is null)
                {
                    break;
                }

                await Task.Delay(RetryPause, cancellationToken);
            }

            logger.LogInformation("Drain complete in {Elapsed:F1} s", (DateTimeOffset.UtcNow - started).TotalSeconds);
        }
        catch (Exception exception) when (exception is TimeoutException or AskTimeoutException or OperationCanceledException)
        {
            logger.LogWarning(
                "Drain did not finish within {Timeout}; unpublished appends stay in the local WAL and are published by the next start on this disk",
                settings.DrainTimeout);
        }
    }

    private static TimeSpan Remaining(DateTimeOffset deadline)
    {
        var remaining = deadline - DateTimeOffset.UtcNow;
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1);
    }
}
