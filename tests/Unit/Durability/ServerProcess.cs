using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// The real server as a child process (<c>dotnet Streams.Api.dll</c>) on a loopback port, so a test can
/// kill it the way an operating system does. The project reference copies Streams.Api.dll with its
/// deps and runtimeconfig next to the test assembly; that copy is the one started.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    /// <summary>On Unix a process ended by a signal reports 128 + the signal number.</summary>
    public const int ExitCodeAfterSigkill = 128 + 9;

    private const int OutputLinesKept = 200;
    private const int StartAttempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HealthPollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private readonly Process process;
    private readonly ConcurrentQueue<string> output;

    private ServerProcess(Process process, ConcurrentQueue<string> output, Uri baseAddress)
    {
        this.process = process;
        this.output = output;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int ProcessId => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>The last lines the server wrote, for failure messages.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, output);

    /// <summary>Starts the server on a free loopback port and returns once <c>/health</c> answers.</summary>
    public static Task<ServerProcess> StartAsync(string dataDirectory, int longPollTimeoutMs, CancellationToken cancellationToken) =>
        StartAsync(dataDirectory, longPollTimeoutMs, [], environment: null, cancellationToken);

    /// <summary>
    /// As above, with more arguments and environment variables for the server (settings that are
    /// secrets, such as object-store keys, go in the environment, never on the command line).
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        string dataDirectory,
        int longPollTimeoutMs,
        IReadOnlyList<string> extraArguments,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            // A port found free can be taken before the server binds it; another port then.
            var server = Launch(dataDirectory, FreeLoopbackPort(), longPollTimeoutMs, extraArguments, environment);
            try
            {
                if (await server.WaitUntilHealthyAsync(cancellationToken))
                {
                    return server;
                }

                failures.Add(server.RecentOutput);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }

            await server.DisposeAsync();
        }

        throw new InvalidOperationException(
            $"the server did not start in {StartAttempts} attempts:{Environment.NewLine}{string.Join(Environment.NewLine + "---" + Environment.NewLine, failures)}");
    }

    /// <summary>
    /// SIGKILL: <see cref="Process.Kill()"/> sends it on Linux; the exit code (128 + 9) proves it.
    /// No shutdown hook, no flush, no graceful close of sockets or the database runs.
    /// </summary>
    public async Task<int> KillHardAsync()
    {
        process.Kill(entireProcessTree: false);
        using var timeout = new CancellationTokenSource(ExitTimeout);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var timeout = new CancellationTokenSource(ExitTimeout);
                await process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    private static ServerProcess Launch(
        string dataDirectory,
        int port,
        int longPollTimeoutMs,
        IReadOnlyList<string> extraArguments,
        IReadOnlyDictionary<string, string>? environment)
    {
        var serverAssembly = Path.Combine(AppContext.BaseDirectory, "Streams.Api.dll");
        if (!File.Exists(serverAssembly))
        {
            throw new FileNotFoundException("Streams.Api.dll is not next to the test assembly; the project reference copies it", serverAssembly);
        }

        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDirectory,
        };
        foreach (var argument in new[]
        {
            serverAssembly,
            "--host", IPAddress.Loopback.ToString(),
            "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--data-dir", dataDirectory,
            "--long-poll-timeout-ms", longPollTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        // The flags win over these anyway; removing them keeps a developer's shell out of the test.
        start.Environment.Remove("DS_ROOT");
        start.Environment.Remove("PORT");
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[variable] = value;
        }

        var output = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        DataReceivedEventHandler keep = (_, line) =>
        {
            if (line.Data is null)
            {
                return;
            }

            output.Enqueue(line.Data);
            while (output.Count > OutputLinesKept && output.TryDequeue(out string? _))
            {
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.Start();
        // Both pipes are drained continuously: a full pipe would block the server's logging.
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(process, output, new Uri($"http://{IPAddress.Loopback}:{port}/"));
    }

    private async Task<bool> WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                return false;
            }

            try
            {
                using var response = await client.GetAsync("health", cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // One probe timed out; the deadline decides.
            }

            await Task.Delay(HealthPollInterval, cancellationToken);
        }

        throw new TimeoutException($"the server did not become healthy within {StartTimeout}:{Environment.NewLine}{RecentOutput}");
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>The same dotnet host that runs the tests (the SDK exports its path to child processes).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        return "dotnet";
    }
}
