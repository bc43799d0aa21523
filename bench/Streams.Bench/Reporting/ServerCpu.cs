using System.Globalization;

namespace Streams.Bench.Reporting;

/// <summary>
/// The processor time (user + system) a server process has used so far, read from
/// <c>/proc/&lt;pid&gt;/stat</c>. The difference over a phase divided by its operations is the server's
/// CPU per operation: on a shared machine it moves far less than wall-clock throughput does.
/// </summary>
public sealed class ServerCpu(int? processId)
{
    // Fields 14 and 15 of /proc/<pid>/stat (1-based) are utime and stime, in clock ticks.
    private const int UserTimeField = 14;
    private const int SystemTimeField = 15;
    private const int FirstFieldAfterName = 3;

    // USER_HZ: 100 on every Linux ABI .NET runs on; sysconf(_SC_CLK_TCK) reports the same.
    private const double TicksPerSecond = 100;

    public bool Known => processId is not null && File.Exists(StatPath);

    private string StatPath => $"/proc/{processId}/stat";

    /// <summary>The CPU time used so far, or null when the server's process is not known or not readable.</summary>
    public TimeSpan? Now()
    {
        if (!Known)
        {
            return null;
        }

        var stat = File.ReadAllText(StatPath);
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[UserTimeField - FirstFieldAfterName], CultureInfo.InvariantCulture)
            + long.Parse(fields[SystemTimeField - FirstFieldAfterName], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>Microseconds of server CPU per operation between two readings, as table text.</summary>
    public static string PerOperation(TimeSpan? before, TimeSpan? after, long operations, double unitsPerOperation = 1, string format = "N0") =>
        before is { } start && after is { } end
            ? PerOperation(end - start, operations, unitsPerOperation, format)
            : "-";

    /// <summary>Microseconds of CPU per operation, as table text.</summary>
    public static string PerOperation(TimeSpan used, long operations, double unitsPerOperation = 1, string format = "N0") =>
        operations > 0
            ? (used.TotalMicroseconds / operations * unitsPerOperation).ToString(format, CultureInfo.InvariantCulture)
            : "-";

    /// <summary>Server CPU between two readings as a share of one core over the elapsed time.</summary>
    public static string Share(TimeSpan? before, TimeSpan? after, TimeSpan elapsed) =>
        before is { } start && after is { } end && elapsed > TimeSpan.Zero
            ? ((end - start) / elapsed * 100).ToString("N0", CultureInfo.InvariantCulture) + " %"
            : "-";
}
