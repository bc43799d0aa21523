using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.Restore;

namespace Streams.Actors.Hosting;

/// <summary>
/// Runs the eager bootstrap in the background while the listener is already up, so <c>/health</c>
/// can answer 503 "restoring" (with progress) instead of not answering at all.
/// </summary>
internal sealed class EagerRestoreService(EagerBootstrapper bootstrapper, RestoreStatus status, ILogger<EagerRestoreService> logger)
    : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Marked before the listener starts: no request may see a half-restored index as ready.
        status.Begin();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await bootstrapper.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning("Restore cancelled by shutdown");
        }
    }
}
