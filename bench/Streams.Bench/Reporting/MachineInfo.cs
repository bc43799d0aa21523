using System.Runtime.InteropServices;

namespace Streams.Bench.Reporting;

/// <summary>What the numbers were measured on, printed above every set of tables.</summary>
public static class MachineInfo
{
    private const string MemInfoPath = "/proc/meminfo";
    private const string MemTotalKey = "MemTotal:";
    private const double KibPerGib = 1024 * 1024;

    public static string Describe()
    {
        var memory = MemoryGib() is { } gib ? $"{gib:F1} GiB" : "unknown";
        return $"{Environment.ProcessorCount} logical CPUs, {memory} memory, {RuntimeInformation.OSDescription}, "
            + $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})";
    }

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
