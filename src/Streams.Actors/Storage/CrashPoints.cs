using System.Diagnostics;

namespace Streams.Actors.Storage;

/// <summary>
/// Named points between the commit points of a compaction or an eager restore where the crash tests
/// kill the process. With the environment variable <c>STREAMS_CRASH_AT</c> set to a point's name,
/// the process sends itself SIGKILL the first time it reaches that point — the same as
/// <c>kill -9</c> from outside, at exactly that step. Unset (always, outside those tests), reaching a point does nothing.
/// </summary>
public static class CrashPoints
{
    public const string EnvironmentVariable = "STREAMS_CRASH_AT";

    /// <summary>Merged segment files written locally, nothing else done.</summary>
    public const string CompactionFilesWritten = "compaction-files-written";

    /// <summary>The merged names queued for deletion (the intent), nothing put yet.</summary>
    public const string CompactionIntentRecorded = "compaction-intent-recorded";

    /// <summary>Merged segments put in the object store, not yet committed locally.</summary>
    public const string CompactionUploaded = "compaction-uploaded";

    /// <summary>Compaction committed locally, its manifest not yet published.</summary>
    public const string CompactionCommitted = "compaction-committed";

    /// <summary>A manifest listing a new layout put in the store, not yet committed locally.</summary>
    public const string LayoutManifestPut = "layout-manifest-put";

    /// <summary>A manifest listing a new layout published and committed; replaced objects not yet deleted.</summary>
    public const string LayoutPublished = "layout-published";

    /// <summary>Replaced objects deleted from the store, their rows not yet forgotten.</summary>
    public const string ReplacedObjectsDeleted = "replaced-objects-deleted";

    /// <summary>An eager restore's first batch of streams committed, the rest not yet written.</summary>
    public const string RestoreBatchCommitted = "restore-batch-committed";

    private static readonly string? Armed = Environment.GetEnvironmentVariable(EnvironmentVariable);

    public static void Reach(string point)
    {
        if (Armed is null || !string.Equals(Armed, point, StringComparison.Ordinal))
        {
            return;
        }

        Console.Error.WriteLine($"crash point {point} reached: killing the process");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
        // Kill returns once the signal is sent; nothing more may happen after the point.
        Thread.Sleep(Timeout.Infinite);
    }
}
