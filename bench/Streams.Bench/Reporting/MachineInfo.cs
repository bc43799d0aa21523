using System.Runtime.InteropServices;

namespace Streams.Bench.Reporting;

/// <summary>What the numbers were measured on, printed above every set of tables.</summary>
public static class MachineInfo
{
    private const string MemInfoPath = "/proc/meminfo";
    private const string MemTotalKey = "MemTotal:";
    private const string LoadAveragePath = "/proc/loadavg";
    private const int LoadAverageFields = 3;
    private const double KibPerGib = 1024 * 1024;

    public static string Describe()
    {
        var memory = MemoryGib() is { } gib ? $"{gib:F1} GiB" : "unknown";
        return $"{Environment.ProcessorCount} logical CPUs, {memory} memory, {RuntimeInformation.OSDescription}, "
            + $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})";
    }

    /// <summary>
    /// The 1, 5 and 15 minute load averages. Printed with every result: on a shared two-core machine,
    /// other work running at the same time changes the numbers, and the reader should see how much.
    /// </summary>
    public static string LoadAverage() =>
        File.Exists(LoadAveragePath)
            ? string.Join(' ', File.ReadAllText(LoadAveragePath).Split(' ').Take(LoadAverageFields))
            : "unknown";

    /// <summary>The 1 minute load average alone, for a table column.</summary>
    public static string LoadAverageOneMinute() => LoadAverage().Split(' ')[0];

    private static double? MemoryGib()
    {
        if (!File.Exists(MemInfoPath))
        {
            return null;
        }

        var line = File.ReadLines(MemInfoPath).FirstOrDefault(l => l.StartsWith(MemTotalKey, StringComparison.Ordinal));
        var kib = line?[MemTotalKey.Length..].Trim().Split(' ')[0];
        return long.TryParse(kib, out var value) ? value / KibPerGib : null;
    }
}
