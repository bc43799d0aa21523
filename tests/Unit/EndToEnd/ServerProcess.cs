using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Streams.Tests.Unit.EndToEnd;

/// <summary>
/// The real server binary in a process of its own, on a free loopback port: started with
/// <c>dotnet Streams.Api.dll</c> from the build next to this test assembly, stopped with SIGTERM
/// (a graceful drain) or SIGKILL. Its console output is kept and written to the test output when
/// the process is disposed, so a failing test shows what the server said.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Variables a developer's shell may set that would change the server's behaviour.</summary>
    private static readonly string[] InheritedVariablesToDrop =
    [
        "DS_LAZY_RESTORE", "DS_ROOT", "PORT", "DS_SEGMENT_TARGET_ROWS",
        "DURABLE_STREAMS_R2_BUCKET", "DURABLE_STREAMS_R2_ACCESS_KEY_ID", "DURABLE_STREAMS_R2_SECRET_ACCESS_KEY",
        "DURABLE_STREAMS_R2_ENDPOINT", "DURABLE_STREAMS_R2_REGION", "DURABLE_STREAMS_R2_ACCOUNT_ID",
        "STREAMS_S3_ACCESS_KEY", "STREAMS_S3_SECRET_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    ];

    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();
    private readonly ITestOutputHelper log;
    private readonly string label;

    private ServerProcess(string label, Process process, int port, Stopwatch sinceStart, ITestOutputHelper log)
    {
        this.label = label;
        this.process = process;
        this.log = log;
        Port = port;
        SinceStart = sinceStart;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = RequestTimeout };
    }

    public int Port { get; }

    public HttpClient Client { get; }

    /// <summary>Runs from just before the process was started.</summary>
    public Stopwatch SinceStart { get; }

    public string Output => string.Join('\n', output);

    public bool HasExited => process.HasExited;

    public static ServerProcess Start(
        string label,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment,
        ITestOutputHelper log)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerBinary.Path);
        foreach (var argument in new[] { "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in InheritedVariablesToDrop)
        {
            start.Environment.Remove(variable);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var sinceStart = Stopwatch.StartNew();
        var server = new ServerProcess(label, process, port, sinceStart, log);
        process.OutputDataReceived += (_, line) => server.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => server.Keep(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>SIGTERM: the server drains (seals, uploads, publishes clean manifests) and exits.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        return process.ExitCode;
    }

    /// <summary>SIGKILL: the process ends at once, whatever it had not published yet.</summary>
    public async Task KillAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        Client.Dispose();
        log.WriteLine($"---- {label} (port {Port}) output ----\n{Output}");
        process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            output.Enqueue(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// The server build matching this test assembly's configuration:
/// <c>src/Streams.Api/bin/&lt;Configuration&gt;/net10.0/Streams.Api.dll</c>.
/// </summary>
public static class ServerBinary
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Path => Located.Value;

    private static string Locate()
    {
        // The test assembly runs from tests/Unit/bin/<Configuration>/<framework>/.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent?.Name
            ?? throw new InvalidOperationException($"cannot tell the build configuration from {here.FullName}");
        var root = here;
        while (root is not null && !File.Exists(System.IO.Path.Combine(root.FullName, "Streams.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"no Streams.sln above {here.FullName}");
        }

        var path = System.IO.Path.Combine(root.FullName, "src", "Streams.Api", "bin", configuration, framework, "Streams.Api.dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"the server is not built for {configuration}: build Streams.sln first", path);
    }
}
