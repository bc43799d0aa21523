using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Streams.Bench.Serving;

/// <summary>Object-store calls made by a served node, and where its restore stands.</summary>
public sealed record ServerStats(
    int Puts, int Gets, int Heads, int Lists, int Deletes, bool Restoring, long RestoreDone, long RestoreTotal, long RestoreFailed, TimeSpan? RestoreElapsed)
{
    public int Total => Puts + Gets + Heads + Lists + Deletes;
}

/// <summary>
/// When a started server first answered anything, when <c>/health</c> first said 200, and the processor
/// time the server had used by then: unlike wall-clock time, that barely moves when other work shares the machine.
/// </summary>
public sealed record HealthTimings(TimeSpan FirstResponse, TimeSpan Healthy, TimeSpan ServerCpu);

/// <summary>
/// A server running as a child process of the benchmark (this program's <c>serve</c> subcommand), on a
/// loopback port of its own, its output kept in a log file. The clock starts just before the process does.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    // Polling starts tight, so a sub-second start is timed to within a few milliseconds, and backs off
    // to a fixed share of the time elapsed: a restore of minutes is then timed to within that share,
    // and the polling itself (a request the server must answer) does not load a two-core machine.
    private static readonly TimeSpan MinHealthPollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MaxHealthPollInterval = TimeSpan.FromMilliseconds(100);
    private const double HealthPollShareOfElapsed = 0.01;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private const int SigTerm = 15;

    private readonly Process process;
    private readonly Stopwatch sinceStart;
    private readonly StreamWriter log;
    private readonly HttpClient probe;

    private ServerProcess(Process process, Stopwatch sinceStart, StreamWriter log, Uri baseAddress, string logPath)
    {
        this.process = process;
        this.sinceStart = sinceStart;
        this.log = log;
        BaseAddress = baseAddress;
        LogPath = logPath;
        probe = new HttpClient(new SocketsHttpHandler { ConnectTimeout = ProbeTimeout, UseProxy = false })
        {
            BaseAddress = baseAddress,
            Timeout = ProbeTimeout,
        };
    }

    public Uri BaseAddress { get; }

    public string LogPath { get; }

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>Processor time the server has used so far (zero once it has exited).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            try
            {
                process.Refresh();
                return process.HasExited ? TimeSpan.Zero : process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                // Exited between the check and the read.
                return TimeSpan.Zero;
            }
        }
    }

    /// <summary>Starts <c>serve</c> with the given server flags (host, port and data dir are added here).</summary>
    public static ServerProcess Start(
        string dataDirectory,
        IReadOnlyList<string> serverFlags,
        TimeSpan injectedLatency,
        IReadOnlyDictionary<string, string> environment,
        string logPath)
    {
        var port = FreeLoopbackPort();
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        // Started as "dotnet Streams.Bench.dll": the child needs the assembly path too.
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ServerProcess).Assembly.Location);
        }

        start.ArgumentList.Add(ServeCommand.Name);
        start.ArgumentList.Add(ServeCommand.LatencyFlag);
        start.ArgumentList.Add(injectedLatency.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add(ServeCommand.Separator);
        foreach (var flag in (string[])["--host", IPAddress.Loopback.ToString(), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", dataDirectory])
        {
            start.ArgumentList.Add(flag);
        }

        foreach (var flag in serverFlags)
        {
            start.ArgumentList.Add(flag);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        log.WriteLine($"# {start.FileName} {string.Join(' ', start.ArgumentList)}");
        var stopwatch = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("the server process did not start");
        var server = new ServerProcess(process, stopwatch, log, new Uri($"http://{IPAddress.Loopback}:{port}/"), logPath);
        process.OutputDataReceived += (_, line) => server.Log(line.Data);
        process.ErrorDataReceived += (_, line) => server.Log(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Polls <c>/health</c> until it answers 200; throws when the process exits or time runs out.</summary>
    public Task<HealthTimings> WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitUntilAnsweringAsync("health", timeout, cancellationToken);

    /// <summary>Polls <paramref name="path"/> (<c>health</c>, or <c>ready</c> for a cluster member) until it answers 200.</summary>
    public async Task<HealthTimings> WaitUntilAnsweringAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        TimeSpan? firstResponse = null;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with code {process.ExitCode} before /{path} answered 200; see {LogPath}");
            }

            if (sinceStart.Elapsed > timeout)
            {
                throw new TimeoutException($"/{path} did not answer 200 within {timeout.TotalSeconds:F0} s; see {LogPath}");
            }

            try
            {
                using var response = await probe.GetAsync(path, cancellationToken);
                var now = sinceStart.Elapsed;
                firstResponse ??= now;
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    process.Refresh();
                    return new HealthTimings(firstResponse.Value, now, process.TotalProcessorTime);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A probe timed out while the machine was busy; ask again.
            }

            await Task.Delay(PollInterval(sinceStart.Elapsed), cancellationToken);
        }
    }

    public async Task<ServerStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        var body = await probe.GetByteArrayAsync(StatsEndpoint.Path.TrimStart('/'), cancellationToken);
        using var json = JsonDocument.Parse(body);
        var store = json.RootElement.GetProperty("object_store");
        var restore = json.RootElement.GetProperty("restore");
        return new ServerStats(
            store.GetProperty("put").GetInt32(),
            store.GetProperty("get").GetInt32(),
            store.GetProperty("head").GetInt32(),
            store.GetProperty("list").GetInt32(),
            store.GetProperty("delete").GetInt32(),
            restore.GetProperty("restoring").GetBoolean(),
            restore.GetProperty("done").GetInt64(),
            restore.GetProperty("total").GetInt64(),
            restore.GetProperty("failed").GetInt64(),
            restore.TryGetProperty("elapsed_ms", out var elapsed) ? TimeSpan.FromMilliseconds(elapsed.GetDouble()) : null);
    }

    /// <summary>Object-store calls by operation over the node's whole life, as it printed them on a clean exit.</summary>
    public IReadOnlyDictionary<string, int>? FinalCalls { get; private set; }

    /// <summary>
    /// SIGTERM (the server drains and exits), then a kill if it has not exited within the grace period.
    /// Returns the time from the signal to the exit.
    /// </summary>
    public async Task<TimeSpan> StopGracefullyAsync(TimeSpan grace)
    {
        if (process.HasExited)
        {
            return TimeSpan.Zero;
        }

        var signalled = Stopwatch.StartNew();
        _ = Kill(process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Log($"# not exited {grace.TotalSeconds:F0} s after SIGTERM; killing");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        // Wait for the output pumps too: the final call counts are the last line.
        process.WaitForExit();
        return signalled.Elapsed;
    }

    private static Dictionary<string, int> ParseCalls(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .Where(parts => parts.Length == 2 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out _))
            .ToDictionary(parts => parts[0].ToLowerInvariant(), parts => int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), StringComparer.Ordinal);

    /// <summary>Ends the process at once: used where the node's data directory is thrown away anyway.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        probe.Dispose();
        process.Dispose();
        lock (log)
        {
            log.Dispose();
        }
    }

    private void Log(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith(ServeCommand.FinalCallsPrefix, StringComparison.Ordinal))
        {
            FinalCalls = ParseCalls(line[ServeCommand.FinalCallsPrefix.Length..]);
        }

        lock (log)
        {
            // Output can still arrive while the process is being disposed.
            if (log.BaseStream is not null)
            {
                log.WriteLine(line);
            }
        }
    }

    private static TimeSpan PollInterval(TimeSpan elapsed)
    {
        var share = elapsed * HealthPollShareOfElapsed;
        return share < MinHealthPollInterval ? MinHealthPollInterval : share > MaxHealthPollInterval ? MaxHealthPollInterval : share;
    }

    /// <summary>A port the kernel just handed out; released at once so the server can bind it.</summary>
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Process offers only SIGKILL; a graceful stop (the server's drain) needs SIGTERM.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
