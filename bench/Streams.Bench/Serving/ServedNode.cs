using System.Globalization;
using System.Text.Json;

namespace Streams.Bench.Serving;

/// <summary>Object-store calls made by a served node, and where its restore stands.</summary>
public sealed record ServerStats(
    int Puts, int Gets, int Heads, int Lists, int Deletes, bool Restoring, long RestoreDone, long RestoreTotal, long RestoreFailed, TimeSpan? RestoreElapsed)
{
    public int Total => Puts + Gets + Heads + Lists + Deletes;
}

/// <summary>
/// A server running as a child process of the benchmark (this program's <c>serve</c> subcommand, which
/// decorates its object store), started through the tests' <see cref="ServerProcess"/>, its output kept
/// in a log file. Adds what only the benchmark reads: the stats endpoint and the final call counts.
/// </summary>
public sealed class ServedNode : IAsyncDisposable
{
    private readonly ServerProcess process;

    private ServedNode(ServerProcess process, string logPath)
    {
        this.process = process;
        LogPath = logPath;
    }

    public Uri BaseAddress => process.BaseAddress;

    public string LogPath { get; }

    public int ProcessId => process.ProcessId;

    /// <summary>Object-store calls by operation over the node's whole life, as it printed them on a clean exit.</summary>
    public IReadOnlyDictionary<string, int>? FinalCalls { get; private set; }

    /// <summary>Starts <c>serve</c> with the given server flags (host, port and data dir are added by <see cref="ServerProcess"/>).</summary>
    public static ServedNode Start(
        string dataDirectory,
        IReadOnlyList<string> serverFlags,
        TimeSpan injectedLatency,
        IReadOnlyDictionary<string, string> environment,
        string logPath)
    {
        var executable = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable is running");
        var leading = new List<string>();
        // Started as "dotnet Streams.Bench.dll": the child needs the assembly path too.
        if (Path.GetFileNameWithoutExtension(executable) == "dotnet")
        {
            leading.Add(typeof(ServedNode).Assembly.Location);
        }

        leading.AddRange([ServeCommand.Name, ServeCommand.LatencyFlag, injectedLatency.TotalMilliseconds.ToString(CultureInfo.InvariantCulture), ServeCommand.Separator]);
        ServedNode? node = null;
        var process = ServerProcess.Launch(new ServerLaunch
        {
            Label = Path.GetFileNameWithoutExtension(logPath),
            Command = new ServerCommand(executable, leading),
            DataDirectory = dataDirectory,
            Arguments = serverFlags,
            Environment = environment,
            LogPath = logPath,
            OnLine = line => node?.Read(line),
        });
        node = new ServedNode(process, logPath);
        return node;
    }

    /// <summary>Polls <c>/health</c> until it answers 200; throws when the process exits or time runs out.</summary>
    public Task<HealthTimings> WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        process.WaitUntilHealthyAsync(timeout, cancellationToken);

    public async Task<ServerStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        var body = await process.Client.GetByteArrayAsync(StatsEndpoint.Path.TrimStart('/'), cancellationToken);
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

    /// <summary>SIGTERM (the server drains and exits), then a kill after the grace period. Returns the time from the signal to the exit.</summary>
    public Task<TimeSpan> StopGracefullyAsync(TimeSpan grace) => process.StopGracefullyAsync(grace);

    /// <summary>Ends the process at once: used where the node's data directory is thrown away anyway.</summary>
    public Task KillAsync() => process.KillAsync();

    public ValueTask DisposeAsync() => process.DisposeAsync();

    private void Read(string line)
    {
        if (line.StartsWith(ServeCommand.FinalCallsPrefix, StringComparison.Ordinal))
        {
            FinalCalls = ParseCalls(line[ServeCommand.FinalCallsPrefix.Length..]);
        }
    }

    private static Dictionary<string, int> ParseCalls(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .Where(parts => parts.Length == 2 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out _))
            .ToDictionary(parts => parts[0].ToLowerInvariant(), parts => int.Parse(parts[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
}
