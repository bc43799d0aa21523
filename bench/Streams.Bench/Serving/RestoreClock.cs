using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Streams.Actors.Restore;

namespace Streams.Bench.Serving;

/// <summary>
/// Times an eager restore from inside the served node: from when the host starts this service (right
/// after the restore service has begun) until the restore status says it is over. Time-to-healthy
/// measured from outside cannot separate the restore from the process start when the listener comes
/// up late; this can. Registered after the server's own services, so it starts after them.
/// </summary>
internal sealed class RestoreClock(RestoreStatus status) : IHostedService, IDisposable
{
    // Fine enough for restores of tens of milliseconds; only runs while a restore is in progress.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(1);
    private readonly CancellationTokenSource stopping = new();
    private long elapsedTicks = -1;

    /// <summary>The restore's duration, or null when no restore ran or it has not finished.</summary>
    public TimeSpan? Elapsed => Interlocked.Read(ref elapsedTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (status.IsRestoring)
        {
            var stopwatch = Stopwatch.StartNew();
            _ = Task.Run(async () =>
            {
                while (status.IsRestoring && !stopping.IsCancellationRequested)
                {
                    await Task.Delay(PollInterval, CancellationToken.None);
                }

                Interlocked.Exchange(ref elapsedTicks, stopwatch.Elapsed.Ticks);
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose() => stopping.Dispose();
}
