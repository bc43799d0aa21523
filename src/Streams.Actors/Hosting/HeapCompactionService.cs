using System.Diagnostics;
using System.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.Config;

namespace Streams.Actors.Hosting;

/// <summary>
/// Every <c>streams.memory.check-interval</c>, asks <see cref="HeapCompactionPolicy"/> whether a sweep
/// of passivations has ended, and if so runs one blocking, compacting collection of the whole heap
/// (large objects included) that also returns the freed memory to the operating system. The pause
/// is paid once after a sweep, on a node whose streams have just gone idle.
/// </summary>
internal sealed class HeapCompactionService(StreamsSettings settings, ILogger<HeapCompactionService> logger) : BackgroundService
{
    private const double BytesPerMebibyte = 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.CompactAfterStoppedOwners <= 0)
        {
            return;
        }

        var policy = new HeapCompactionPolicy(settings.CompactAfterStoppedOwners);
        using var timer = new PeriodicTimer(settings.MemoryCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var stopped = StoppedStreamOwners.Count;
                if (policy.ShouldCompact(stopped))
                {
                    Compact(stopped);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private void Compact(long stopped)
    {
        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var clock = Stopwatch.StartNew();
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        // Aggressive: compacts every generation and decommits what the heap no longer uses, so the
        // resident size falls, not only the heap's own accounting.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
        logger.LogInformation(
            "Memory: compacted the heap after {Stopped} stream owners stopped in all: committed {Before:F0} -> {After:F0} MiB, {Pause} ms",
            stopped, before / BytesPerMebibyte, after / BytesPerMebibyte, clock.ElapsedMilliseconds);
    }
}
