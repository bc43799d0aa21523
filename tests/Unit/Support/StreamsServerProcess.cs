using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Streams.Tests.Unit.Support;

/// <summary>
/// The real server binary (<c>dotnet Streams.Api.dll</c>, copied next to the tests by the project
/// reference) as a child process on a loopback port, so a test can SIGKILL or SIGTERM it the way
/// an operating system or orchestrator would, and start it again on the same directories.
/// </summary>
internal sealed class StreamsServerProcess : IAsyncDisposable
{
    private const int LinesKept = 300;
    private const int StartAttempts = 3;
    private const int SignalTerminate = 15;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan HealthPollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(30);

    private readonly Process process;
    private readonly ConcurrentQueue<string> lines;

    private StreamsServerProcess(Process process, ConcurrentQueue<string> lines, Uri baseAddress)
    {
        this.process = process;
        this.lines = lines;
        BaseAddress = baseAddress;
        Client = new StreamsHttpClient(baseAddress);
    }

    public Uri BaseAddress { get; }

    public StreamsHttpClient Client { get; }

    public bool HasExited => process.HasExited;

    public int ProcessId => process.Id;

    public int ExitCode => process.ExitCode;

    /// <summary>The last lines the server printed, for failure messages.</summary>
    public string RecentOutput => string.Join('\n', lines);

    /// <summary>
    /// Starts the server with <c>--data-dir</c> and <paramref name="arguments"/> and returns once
    /// <c>/health</c> answers 200. <paramref name="environment"/> adds variables (credentials).
    /// </summary>
    public static async Task<StreamsServerProcess> StartAsync(
        string dataDirectory,
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var failures = new List<string>();
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            // A port seen free may be taken before the server binds it; then try another.
            var server = Launch(dataDirectory, FreeLoopbackPort(), arguments, environment);
            if (await server.WaitUntilHealthyAsync())
            {
                return server;
            }

            failures.Add(server.RecentOutput);
            await server.DisposeAsync();
        }

        throw new InvalidOperationException($"the server did not become healthy; its output:\n{string.Join("\n-----\n", failures)}");
    }

    /// <summary>SIGKILL: no drain, no flush, nothing after the last committed write.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(KillTimeout);
        await process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>SIGTERM, then waits for the process to exit (the drain runs in between); false on timeout.</summary>
    public async Task<bool> TerminateAsync(TimeSpan timeout)
    {
        if (!process.HasExited && Posix.kill(process.Id, SignalTerminate) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}");
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!process.HasExited)
        {
            await KillAsync();
        }

        process.Dispose();
    }

    private static StreamsServerProcess Launch(
        string dataDirectory,
        int port,
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo
        {
            // The host that runs the tests; "dotnet" on PATH otherwise.
            FileName = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Streams.Api.dll"));
        foreach (var argument in new[] { "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", dataDirectory }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        Directory.CreateDirectory(dataDirectory);
        var lines = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, line) => Keep(lines, line.Data);
        process.ErrorDataReceived += (_, line) => Keep(lines, line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new StreamsServerProcess(process, lines, new Uri($"http://127.0.0.1:{port}"));
    }

    private static void Keep(ConcurrentQueue<string> lines, string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        while (lines.Count > LinesKept)
        {
            lines.TryDequeue(out _);
        }
    }

    private async Task<bool> WaitUntilHealthyAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            if (await Client.IsHealthyAsync())
            {
                return true;
            }

            await Task.Delay(HealthPollInterval);
        }

        return false;
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static class Posix
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int signal);
    }
}
