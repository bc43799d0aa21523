using System.Runtime.InteropServices;

namespace Streams.Api.Security;

/// <summary>
/// Reloads the key file on SIGHUP and whenever the file changes, so keys can be added and revoked
/// without a restart. A file that no longer parses is reported and the keys in force stay as they
/// were: a typo must not lock every client out (or let everyone in).
/// </summary>
internal sealed class KeyFileReloader(AuthSettings settings, ApiKeyRing ring, ILogger<KeyFileReloader> logger) : IHostedService, IDisposable
{
    /// <summary>Editors write a file in several steps; one reload after they settle.</summary>
    private static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(200);

    private readonly Lock reloadLock = new();
    private FileSystemWatcher? watcher;
    private PosixSignalRegistration? hangup;
    private Timer? settle;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.KeyFile is not { } file)
        {
            return Task.CompletedTask;
        }

        settle = new Timer(_ => Reload("the key file changed"));
        // The directory is watched, not the file: a save by rename replaces the file being watched.
        watcher = new FileSystemWatcher(Path.GetDirectoryName(file)!, Path.GetFileName(file))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        watcher.Changed += (_, _) => settle.Change(SettleTime, Timeout.InfiniteTimeSpan);
        watcher.Created += (_, _) => settle.Change(SettleTime, Timeout.InfiniteTimeSpan);
        watcher.Renamed += (_, _) => settle.Change(SettleTime, Timeout.InfiniteTimeSpan);
        watcher.EnableRaisingEvents = true;
        hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
        {
            // Handled here: the default action of SIGHUP would end the process.
            signal.Cancel = true;
            Reload("SIGHUP");
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        watcher?.Dispose();
        hangup?.Dispose();
        settle?.Dispose();
        watcher = null;
        hangup = null;
        settle = null;
    }

    private void Reload(string reason)
    {
        lock (reloadLock)
        {
            try
            {
                var keys = settings.LoadKeys();
                ring.Replace(keys);
                logger.LogInformation("API keys reloaded ({Reason}): {Count} keys in force", reason, keys.Count);
            }
            catch (FormatException exception)
            {
                logger.LogError("API keys not reloaded ({Reason}), the previous {Count} stay in force: {Problem}", reason, ring.Count, exception.Message);
            }
        }
    }
}
