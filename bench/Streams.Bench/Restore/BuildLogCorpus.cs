using System.Globalization;
using System.Text.Json;

namespace Streams.Bench.Restore;

/// <summary>
/// A small, deterministic corpus shaped like the workload lazy restore was built for: per-build log
/// streams of JSON records (timestamp, level, step, message), a few hundred bytes each.
/// </summary>
public static class BuildLogCorpus
{
    public const string ContentType = "application/json";

    private static readonly DateTimeOffset FirstTimestamp = new(2026, 7, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan RecordSpacing = TimeSpan.FromMilliseconds(137);

    private static readonly (string Step, string Level, string Message)[] Lines =
    [
        ("checkout", "info", "Cloning repository at commit 4f2a9c1 into /workspace/src"),
        ("checkout", "info", "Checked out 1,284 files in 2.31 s"),
        ("restore", "info", "Restoring packages for /workspace/src/app/app.csproj"),
        ("restore", "warn", "Package source mirror responded slowly (1.9 s); retrying once"),
        ("restore", "info", "Restored 87 packages in 6.4 s"),
        ("compile", "info", "Compiling 412 source files with optimizations on"),
        ("compile", "warn", "src/app/Handlers/Upload.cs(88,17): unused variable 'attempt'"),
        ("compile", "info", "app -> /workspace/out/app.dll (3.2 MiB)"),
        ("test", "info", "Starting test run: 1,930 tests in 14 assemblies"),
        ("test", "error", "FAILED OrderTests.Should_reject_expired_coupon: expected 400, got 200"),
        ("test", "info", "Passed 1,929, failed 1, skipped 0 in 48.7 s"),
        ("package", "info", "Writing image layer sha256:9be1c0... (24.6 MiB)"),
        ("deploy", "info", "Uploading artifact to the release bucket"),
        ("deploy", "info", "Build finished with status failed after 3 min 12 s"),
    ];

    /// <summary>The JSON record <paramref name="index"/> of build <paramref name="build"/>.</summary>
    public static byte[] Record(int build, int index)
    {
        var (step, level, message) = Lines[index % Lines.Length];
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("build", "b" + build.ToString(CultureInfo.InvariantCulture));
            json.WriteNumber("seq", index);
            json.WriteString("ts", (FirstTimestamp + (RecordSpacing * ((build * 1000) + index))).ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("level", level);
            json.WriteString("step", step);
            json.WriteString("message", message);
            json.WriteString("runner", "runner-" + (build % 7).ToString(CultureInfo.InvariantCulture));
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
