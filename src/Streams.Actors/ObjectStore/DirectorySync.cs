using System.Runtime.InteropServices;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// Makes a directory's entries durable. fsync of a file persists its bytes, but the name that
/// points at it (a rename, a create, a delete) lives in the parent directory, and on POSIX file
/// systems that entry is only guaranteed on disk after an fsync of the directory itself. Without
/// it, a crash right after an acknowledged rename can bring back the old file, or no file at all.
/// </summary>
internal static class DirectorySync
{
    private const int ReadOnly = 0;

    // Some file systems (certain FUSE and network mounts) cannot fsync a directory and say so
    // with EINVAL; there is nothing more we can do there, so it is not treated as a failure.
    private const int InvalidArgumentErrno = 22;

    /// <summary>fsyncs <paramref name="directory"/> where the platform allows it.</summary>
    public static void Flush(string directory)
    {
        // NTFS journals directory changes itself and offers no way to open a directory for
        // flushing through this API; other platforms are POSIX.
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // .NET refuses to open a directory as a FileStream or SafeFileHandle, hence libc.
        var descriptor = NativeMethods.Open(directory, ReadOnly);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.Fsync(descriptor) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != InvalidArgumentErrno)
                {
                    throw new IOException($"fsync of directory '{directory}' failed (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = NativeMethods.Close(descriptor);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int descriptor);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int descriptor);
    }
}
