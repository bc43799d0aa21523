using System.Runtime.InteropServices;

namespace Streams.Actors.Storage;

/// <summary>
/// Writes whole files so that a crash at any moment leaves the target path either as it was or
/// holding the complete new contents, never a prefix, and so that a completed write survives a
/// power loss.
/// </summary>
public static class AtomicFile
{
    private const string TempFileSuffix = ".tmp";

    /// <summary>
    /// Writes <paramref name="contents"/> to <paramref name="path"/>, replacing any existing file:
    /// temp file in the same directory, fsync, rename over the target, fsync the directory.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> contents)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath)
            ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory);
            // The new directory's own entry must survive a crash too, or the file would vanish with it.
            var parent = Path.GetDirectoryName(directory);
            if (parent is not null)
            {
                FlushDirectory(parent);
            }
        }

        // Same directory as the target: rename is atomic only within one file system. The leading
        // dot and the suffix mark it as debris that start-up cleanup may delete after a crash.
        var tempPath = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}{TempFileSuffix}");
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
            // the same contents (a retry after a crash between rename and metadata commit).
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

    /// <summary>
    /// True for names <see cref="Write"/> gives its temp files, so start-up cleanup can find
    /// leftovers of writes interrupted by a crash.
    /// </summary>
    public static bool IsTempFileName(string fileName) =>
        fileName.StartsWith('.') && fileName.EndsWith(TempFileSuffix, StringComparison.Ordinal);

    private static void FlushDirectory(string directory)
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
            // Best effort: the write already failed and that error is the one worth reporting.
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
