using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Streams.Actors.Storage;

/// <summary>
/// The one way files are written durably (segment files and the local-directory object store both
/// use it): a crash at any moment leaves the target path either as it was or holding the complete
/// new contents, never a prefix, and a completed write survives a power loss. Also the one sweeper
/// of the temp files such a write leaves when a crash interrupts it, and the one directory fsync.
/// </summary>
public static class AtomicFile
{
    /// <summary>The suffix of the temp files of segment writes; the object store reserves one of its own.</summary>
    public const string DefaultTempSuffix = ".tmp";

    /// <summary>
    /// Writes <paramref name="contents"/> to <paramref name="path"/>, replacing any existing file:
    /// temp file in the same directory, fsync, rename over the target, fsync the directory. Missing
    /// directories on the way are created durably. The temp file is named '.', the writing process's
    /// id, a random name and <paramref name="tempSuffix"/>, which <see cref="RemoveLeftoverTempFiles"/>
    /// looks for.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> contents, string tempSuffix = DefaultTempSuffix)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)
            ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        CreateDirectoryDurably(directory);

        // Same directory as the target: rename is atomic only within one file system. The random name
        // keeps concurrent writes of one path apart and stays short whatever the target's name is; the
        // leading dot and the suffix mark it as debris that the sweeper may delete after a crash, and
        // the process id tells the sweeper whether its writer can still be running.
        var tempPath = Path.Combine(directory, $".{Environment.ProcessId}{WriterSeparator}{Guid.NewGuid():N}{tempSuffix}");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = contents.Length,
            };
            using (var stream = new FileStream(tempPath, options))
            {
                stream.Write(contents);

                // fsync before the rename: otherwise the rename may reach the disk before the data,
                // and a crash would leave an empty or partial file under the final name.
                stream.Flush(flushToDisk: true);
            }

            // rename(2) replaces the target atomically: a reader or a crash sees the old file or the
            // new one, never a mix. Replacing is safe because callers write a given name only with
            // the same contents (a retry after a crash between rename and metadata commit), or, in the
            // object store, with a newer version of the object.
            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }

        // The new name is an entry in the directory, which is data of its own: until the directory
        // is fsynced a power loss can forget the rename, and whatever was committed next (segment
        // metadata, a manifest) would point at a file that does not exist.
        FlushDirectory(directory);
    }

    private const char WriterSeparator = '-';

    /// <summary>True for the names <see cref="Write"/> gives its temp files with <paramref name="tempSuffix"/>.</summary>
    public static bool IsTempFileName(string fileName, string tempSuffix = DefaultTempSuffix) =>
        fileName.StartsWith('.') && fileName.EndsWith(tempSuffix, StringComparison.Ordinal);

    /// <summary>
    /// Deletes, anywhere under <paramref name="root"/>, the temp files of writes a crash interrupted,
    /// and returns how many it removed. With <paramref name="writtenBeforeUtc"/>, files written since
    /// then (a running writer's own, in flight) are left alone, so it may run while writes go on —
    /// unless the process that wrote one is no longer running: a server restarted within moments of
    /// a crash finds its predecessor's debris newer than any cutoff, and nothing can finish it.
    /// </summary>
    public static int RemoveLeftoverTempFiles(string root, string tempSuffix = DefaultTempSuffix, DateTime? writtenBeforeUtc = null)
    {
        if (!Directory.Exists(root))
        {
            return 0;
        }

        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            // A symlink could lead out of the root; nothing written here is a link.
            AttributesToSkip = FileAttributes.ReparsePoint,
        };

        var removed = 0;
        foreach (var file in Directory.EnumerateFiles(root, "*" + tempSuffix, options))
        {
            var name = Path.GetFileName(file);
            if (!IsTempFileName(name, tempSuffix)
                || (writtenBeforeUtc is { } cutoff && File.GetLastWriteTimeUtc(file) >= cutoff && WriterMayBeRunning(name)))
            {
                continue;
            }

            File.Delete(file);
            removed++;
        }

        return removed;
    }

    /// <summary>
    /// False only when the temp file names a writer process that has exited. Unknown is "may be
    /// running": names without a process id (written before ids were added), this process itself
    /// (its own writes are in flight), and a live process with that id (another store instance on
    /// the same directory, or an unrelated process that reused a crashed writer's id, which only
    /// leaves the file to the next sweep).
    /// </summary>
    private static bool WriterMayBeRunning(string tempFileName)
    {
        var separator = tempFileName.IndexOf(WriterSeparator);
        if (separator < 2 || !int.TryParse(tempFileName.AsSpan(1, separator - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var processId))
        {
            return true;
        }

        if (processId == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            // No process with that id is running.
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Creates the missing directories one level at a time and flushes each new directory's
    /// parent, so that the path to a durable file is itself durable.
    /// </summary>
    public static void CreateDirectoryDurably(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        var missing = new Stack<string>();
        for (var current = directory; current is not null && !Directory.Exists(current); current = Path.GetDirectoryName(current))
        {
            missing.Push(current);
        }

        while (missing.TryPop(out var level))
        {
            // Another writer may create the same level concurrently; CreateDirectory tolerates that.
            Directory.CreateDirectory(level);
            if (Path.GetDirectoryName(level) is { } parent)
            {
                FlushDirectory(parent);
            }
        }
    }

    /// <summary>
    /// Makes a directory's entries durable. fsync of a file persists its bytes, but the name that
    /// points at it (a rename, a create, a delete) lives in the parent directory, and on POSIX file
    /// systems that entry is only guaranteed on disk after an fsync of the directory itself.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        // Windows offers no fsync for a directory handle; NTFS journals the rename itself.
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // .NET refuses to open a directory as a file, so go to the C library directly.
        var descriptor = Posix.open(directory, Posix.O_RDONLY);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Posix.fsync(descriptor) != 0)
            {
                // Some file systems (certain FUSE and network mounts) cannot fsync a directory and
                // answer EINVAL. Nothing stronger is available there, and failing would stop every
                // segment from ever being sealed, so that one answer is accepted.
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Posix.EINVAL)
                {
                    throw new IOException($"fsync of directory '{directory}' failed (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = Posix.close(descriptor);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the write already failed and that error is the one worth reporting; the
            // sweeper collects the file at the next start.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }

    private static class Posix
    {
        // The runtime's loader maps the bare name "libc" to the platform's C library (libc.so.6 on glibc).
        private const string LibC = "libc";

        /// <summary>Read-only open; the same value on every POSIX system.</summary>
        public const int O_RDONLY = 0;

        /// <summary>"Invalid argument"; 22 on Linux and macOS.</summary>
        public const int EINVAL = 22;

        [DllImport(LibC, SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport(LibC, SetLastError = true)]
        public static extern int fsync(int descriptor);

        [DllImport(LibC, SetLastError = true)]
        public static extern int close(int descriptor);
    }
}
