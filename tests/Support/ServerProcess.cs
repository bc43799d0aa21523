using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xunit.Abstractions;

namespace Streams.Tests.Support;

/// <summary>What to run as the server: an executable and the arguments that come before the server's flags.</summary>
public sealed record ServerCommand(string FileName, IReadOnlyList<string> LeadingArguments)
{
    /// <summary>
    /// <c>dotnet Streams.Api.dll</c>: the project reference copies the server, with its deps and
    /// runtimeconfig, next to the assembly that runs (the test assembly or the benchmark).
    /// </summary>
    public static ServerCommand StreamsApi()
    {
        var serverAssembly = Path.Combine(AppContext.BaseDirectory, "Streams.Api.dll");
        return File.Exists(serverAssembly)
            ? new ServerCommand(DotnetHost(), [serverAssembly])
            : throw new FileNotFoundException("Streams.Api.dll is not next to the running assembly; a project reference to Streams.Api copies it", serverAssembly);
    }

    /// <summary>The same dotnet host that runs this process (the SDK exports its path to child processes).</summary>
    public static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        return Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}

/// <summary>How to start one server process. Host and port are chosen by <see cref="ServerProcess"/>.</summary>
public sealed record ServerLaunch
{
    /// <summary>The server's flags; <c>--host</c>, <c>--port</c> and <c>--data-dir</c> are added before them.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Passed as <c>--data-dir</c> (and used as the working directory) when set.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Variables added to the server's environment (secrets such as object-store keys go here, never in flags).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Defaults to <see cref="ServerCommand.StreamsApi"/>.</summary>
    public ServerCommand? Command { get; init; }

    /// <summary>Names the process in the output written at disposal.</summary>
    public string Label { get; init; } = "server";

    /// <summary>Receives everything the server printed when the process is disposed, so a failing test shows it.</summary>
    public ITestOutputHelper? Output { get; init; }

    /// <summary>Every line the server prints is also appended to this file (the benchmark keeps its nodes' logs).</summary>
    public string? LogPath { get; init; }

    /// <summary>Called with every line the server prints, on the thread that reads its output.</summary>
    public Action<string>? OnLine { get; init; }

    /// <summary>The path polled until it answers 200: <c>health</c>, or <c>ready</c> for a cluster member (Up).</summary>
    public string ReadinessPath { get; init; } = "health";
}

/// <summary>When a started server first answered anything and when <c>/health</c> first said 200.</summary>
/// <param name="ServerCpu">
/// The processor time the server had used by then: unlike wall-clock time, that barely moves when
/// other work shares the machine.
/// </param>
/// <param name="StatusesBefore">Every answer other than 200 seen before (connection refusals are not answers).</param>
/// <param name="LastBodyBefore">The body of the last of those answers (the "restoring" progress of an eager node).</param>
public sealed record HealthTimings(TimeSpan FirstResponse, TimeSpan Healthy, TimeSpan ServerCpu, IReadOnlyList<HttpStatusCode> StatusesBefore, string LastBodyBefore)
{
    public TimeSpan ReadyAfter => Healthy;
}

/// <summary>
/// The real server in a process of its own on a free loopback port, so a test can SIGKILL or SIGTERM
/// it the way an operating system or orchestrator would and start it again on the same directories.
/// Its output is kept (the last <see cref="OutputLinesKept"/> lines) and written to the test output
/// when the process is disposed.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>On Unix a process ended by a signal reports 128 + the signal number.</summary>
    public const int ExitCodeAfterSigkill = 128 + SigKill;

    public const int OutputLinesKept = 5000;

    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int StartAttempts = 3;
    private const double HealthPollShareOfElapsed = 0.01;
    private static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    // Polling starts tight, so a sub-second start is timed to within a few milliseconds, and backs off
    // to a fixed share of the time elapsed, so polling (a request the server must answer) does not
    // load a busy machine during a restore of minutes.
    private static readonly TimeSpan MinHealthPollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan MaxHealthPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Variables a developer's shell may set that would change the server's behaviour.</summary>
    private static readonly string[] InheritedVariablesToDrop =
    [
        "DS_LAZY_RESTORE", "DS_ROOT", "PORT", "DS_SEGMENT_TARGET_ROWS",
        "DURABLE_STREAMS_R2_BUCKET", "DURABLE_STREAMS_R2_ACCESS_KEY_ID", "DURABLE_STREAMS_R2_SECRET_ACCESS_KEY",
        "DURABLE_STREAMS_R2_ENDPOINT", "DURABLE_STREAMS_R2_REGION", "DURABLE_STREAMS_R2_ACCOUNT_ID",
        "STREAMS_S3_ACCESS_KEY", "STREAMS_S3_SECRET_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    ];

    private readonly Process process;
    private readonly ServerLaunch launch;
    private readonly ConcurrentQueue<string> output = new();
    private readonly StreamWriter? logFile;
    private readonly HttpClient probe;

    private ServerProcess(ServerLaunch launch, Process process, int port)
    {
        this.launch = launch;
        this.process = process;
        Port = port;
        BaseAddress = new Uri($"http://{IPAddress.Loopback}:{port.ToString(CultureInfo.InvariantCulture)}/");
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = RequestTimeout };
        probe = new HttpClient(new SocketsHttpHandler { ConnectTimeout = ProbeTimeout, UseProxy = false }) { BaseAddress = BaseAddress, Timeout = ProbeTimeout };
        if (launch.LogPath is { } logPath)
        {
            logFile = new StreamWriter(logPath, append: true) { AutoFlush = true };
        }
    }

    public string Label => launch.Label;

    public int Port { get; }

    public Uri BaseAddress { get; }

    /// <summary>A client of this server (base address set, a generous timeout), disposed with it.</summary>
    public HttpClient Client { get; }

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

    public int ExitCode => process.ExitCode;

    /// <summary>Runs from just before the process was started.</summary>
    public Stopwatch SinceStart { get; } = new();

    /// <summary>
    /// The lines the server printed (the last <see cref="OutputLinesKept"/>). Once the process has
    /// exited, every line it wrote before exiting is in: the pipes are read in the background, and
    /// the last lines (a crash point's message just before its SIGKILL) can still be in them when
    /// the exit is seen.
    /// </summary>
    public string Output
    {
        get
        {
            if (process.HasExited)
            {
                // The overload without a timeout returns only once the background readers reached
                // the end of both pipes.
                process.WaitForExit();
            }

            return string.Join('\n', output);
        }
    }

    /// <summary>The same as <see cref="Output"/>, for failure messages.</summary>
    public string RecentOutput => Output;

    /// <summary>Starts the process and returns at once; see <see cref="WaitUntilHealthyAsync"/>.</summary>
    public static ServerProcess Launch(ServerLaunch launch)
    {
        var port = FreeLoopbackPort();
        var command = launch.Command ?? ServerCommand.StreamsApi();
        var start = new ProcessStartInfo(command.FileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var flags = new List<string>(command.LeadingArguments) { "--host", IPAddress.Loopback.ToString(), "--port", port.ToString(CultureInfo.InvariantCulture) };
        if (launch.DataDirectory is { } dataDirectory)
        {
            Directory.CreateDirectory(dataDirectory);
            start.WorkingDirectory = dataDirectory;
            flags.AddRange(["--data-dir", dataDirectory]);
        }

        foreach (var argument in flags.Concat(launch.Arguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in InheritedVariablesToDrop)
        {
            start.Environment.Remove(variable);
        }

        foreach (var (name, value) in launch.Environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var server = new ServerProcess(launch, process, port);
        server.Keep($"# {start.FileName} {string.Join(' ', start.ArgumentList)}");
        process.OutputDataReceived += (_, line) => server.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => server.Keep(line.Data);
        server.SinceStart.Start();
        process.Start();
        // Both pipes are drained continuously: a full pipe would block the server's logging.
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Starts the server and returns once <c>/health</c> answers 200, on another port if the first was taken.</summary>
    public static async Task<ServerProcess> StartAsync(ServerLaunch launch, TimeSpan? startTimeout = null, CancellationToken cancellationToken = default)
    {
        var failures = new List<string>();
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            // A port seen free may be taken before the server binds it; then the process exits and another port is tried.
            var server = Launch(launch);
            try
            {
                await server.WaitUntilHealthyAsync(startTimeout ?? DefaultStartTimeout, cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (server.HasExited)
            {
                failures.Add(server.Output);
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        throw new InvalidOperationException($"the server did not start in {StartAttempts} attempts; its output:\n{string.Join("\n-----\n", failures)}");
    }

    /// <summary>Starts the server with <c>--data-dir</c> and <paramref name="arguments"/>; returns once it is healthy.</summary>
    public static Task<ServerProcess> StartAsync(string dataDirectory, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(new ServerLaunch { DataDirectory = dataDirectory, Arguments = arguments, Environment = environment });

    /// <summary>As above, with a long-poll timeout of its own.</summary>
    public static Task<ServerProcess> StartAsync(string dataDirectory, int longPollTimeoutMs, CancellationToken cancellationToken) =>
        StartAsync(dataDirectory, longPollTimeoutMs, [], environment: null, cancellationToken);

    public static Task<ServerProcess> StartAsync(
        string dataDirectory,
        int longPollTimeoutMs,
        IReadOnlyList<string> extraArguments,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken) =>
        StartAsync(
            new ServerLaunch
            {
                DataDirectory = dataDirectory,
                Arguments = ["--long-poll-timeout-ms", longPollTimeoutMs.ToString(CultureInfo.InvariantCulture), .. extraArguments],
                Environment = environment,
            },
            startTimeout: null,
            cancellationToken);

    /// <summary>Starts the server and returns at once (the test watches it start); its output goes to <paramref name="log"/> at disposal.</summary>
    public static ServerProcess Start(string label, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, ITestOutputHelper log) =>
        Launch(new ServerLaunch { Label = label, Arguments = [.. arguments], Environment = environment, Output = log });

    /// <summary>
    /// Polls <c>/health</c> (<see cref="ServerLaunch.ReadinessPath"/>) from the moment the process started until it answers 200. Throws
    /// <see cref="InvalidOperationException"/> when the process exits first, <see cref="TimeoutException"/>
    /// when <paramref name="timeout"/> (counted from the start) runs out.
    /// </summary>
    public async Task<HealthTimings> WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        TimeSpan? firstResponse = null;
        var statuses = new List<HttpStatusCode>();
        var lastBody = string.Empty;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Label} exited with code {process.ExitCode} before it was healthy:\n{Output}");
            }

            if (SinceStart.Elapsed > timeout)
            {
                throw new TimeoutException($"{Label} was not healthy within {timeout}:\n{Output}");
            }

            try
            {
                using var response = await probe.GetAsync(launch.ReadinessPath, cancellationToken);
                var now = SinceStart.Elapsed;
                firstResponse ??= now;
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    process.Refresh();
                    return new HealthTimings(firstResponse.Value, now, process.TotalProcessorTime, statuses, lastBody);
                }

                statuses.Add(response.StatusCode);
                lastBody = await response.Content.ReadAsStringAsync(cancellationToken);
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // One probe timed out while the machine was busy; the deadline decides.
            }

            await Task.Delay(PollInterval(SinceStart.Elapsed), cancellationToken);
        }
    }

    /// <summary>SIGTERM: the server drains (seals, uploads, publishes clean manifests) and exits. Returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        SendTerminate();
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    /// <summary>SIGTERM, then waits for the exit; false when it did not exit within <paramref name="timeout"/>.</summary>
    public async Task<bool> TryTerminateAsync(TimeSpan timeout)
    {
        try
        {
            await TerminateAsync(timeout);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, then SIGKILL if the process has not exited after <paramref name="grace"/>. Returns the time from the signal to the exit.</summary>
    public async Task<TimeSpan> StopGracefullyAsync(TimeSpan grace)
    {
        if (process.HasExited)
        {
            return TimeSpan.Zero;
        }

        var signalled = Stopwatch.StartNew();
        if (!await TryTerminateAsync(grace))
        {
            Keep($"# not exited {grace.TotalSeconds:F0} s after SIGTERM; killing");
            await KillAsync();
        }

        // Waits for the output pumps too, so the last lines the server printed are kept.
        process.WaitForExit();
        return signalled.Elapsed;
    }

    /// <summary>SIGKILL: the process ends at once, whatever it had not written. Returns the exit code (128 + 9).</summary>
    public async Task<int> KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(ExitTimeout);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }

        Client.Dispose();
        probe.Dispose();
        launch.Output?.WriteLine($"---- {Label} (port {Port}) output ----\n{Output}");
        process.Dispose();
        if (logFile is not null)
        {
            lock (logFile)
            {
                logFile.Dispose();
            }
        }
    }

    private void SendTerminate()
    {
        // Process offers only SIGKILL; a graceful stop (the server's drain) needs SIGTERM.
        if (!process.HasExited && Posix.Kill(process.Id, SigTerm) != 0 && !process.HasExited)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        output.Enqueue(line);
        while (output.Count > OutputLinesKept && output.TryDequeue(out _))
        {
        }

        launch.OnLine?.Invoke(line);
        if (logFile is not null)
        {
            lock (logFile)
            {
                // Output can still arrive while the process is being disposed.
                if (logFile.BaseStream is not null)
                {
                    logFile.WriteLine(line);
                }
            }
        }
    }

    private static TimeSpan PollInterval(TimeSpan elapsed)
    {
        var share = elapsed * HealthPollShareOfElapsed;
        return share < MinHealthPollInterval ? MinHealthPollInterval : share > MaxHealthPollInterval ? MaxHealthPollInterval : share;
    }

    /// <summary>
    /// Polls <c>GET /ready</c> until it answers 200 (a cluster member that is Up, any restore done);
    /// fails with the last answer and the server's recent output after <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient();
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            using var response = await http.GetAsync(new Uri(BaseAddress, "/ready"));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            if (DateTimeOffset.UtcNow >= deadline)
            {
                throw new TimeoutException($"not ready after {timeout}: {await response.Content.ReadAsStringAsync()}\n{RecentOutput}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>A port the kernel just handed out, released at once so a server can bind it.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static class Posix
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
