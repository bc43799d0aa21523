using System.Security.Cryptography;
using Streams.Actors.Storage;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// The embedded object store: one file per key under a root directory, with the same key
/// layout as the S3 store. Writes are atomic and durable on return (temp file, fsync, rename,
/// directory fsync), so a crash leaves either the old object or the new one, never a torn one.
/// </summary>
/// <remarks>
/// A file cannot be both an object and a directory, so unlike S3 this store cannot hold both
/// "a" and "a/b"; the key layout never needs that. Directories left empty by deletes are kept:
/// removing them would race with a concurrent put into the same directory.
/// Call <see cref="RemoveLeftoverTempFiles"/> once at start-up (or in the background with a cutoff).
/// A conditional put holds an exclusive lock on a lock file next to the object
/// (<c>.&lt;name&gt;.objstore-lock</c>) around read, compare and rename; on Linux and macOS .NET takes
/// it with flock(2), so it excludes other processes on the same directory as well as other threads.
/// The version of an object is a hash of its content.
/// </remarks>
public sealed class FileSystemObjectStore : IObjectStore
{
    // How long a conditional put waits for another writer's lock before giving up; a holder only
    // reads, writes and renames one small object, so waiting this long means something is stuck.
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LockRetryDelay = TimeSpan.FromMilliseconds(2);

    // A version names content, not a write: two puts of identical bytes have the same version.
    // Manifests carry their writer and generation, so two different publishes never collide.
    private const int VersionHashBytes = 16;

    private readonly string _root;
    private readonly string _rootWithSeparator;

    public FileSystemObjectStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootDirectory));
        _rootWithSeparator = Path.EndsInDirectorySeparator(_root) ? _root : _root + Path.DirectorySeparatorChar;
        Directory.CreateDirectory(_root);
    }

    public string RootDirectory => _root;

    /// <summary>
    /// Deletes temp files left by puts that a crash interrupted, and returns how many it removed.
    /// Not done by the constructor: with another store instance writing to the same root, it
    /// would delete that instance's in-flight temp files. Call it at start-up, before writing —
    /// or, with <paramref name="writtenBeforeUtc"/> taken before this instance's first write, at
    /// any time after: temp files written since then (this instance's own puts) are left alone.
    /// It walks the whole tree, so its cost grows with the number of objects.
    /// </summary>
    public int RemoveLeftoverTempFiles(DateTime? writtenBeforeUtc = null)
    {
        try
        {
            return AtomicFile.RemoveLeftoverTempFiles(_root, ObjectKeyRules.ReservedSuffix, writtenBeforeUtc);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"Cannot remove leftover temp files under '{_root}': {exception.Message}", exception);
        }
    }

    // Every operation below runs on the thread pool: file I/O and fsync block, and callers
    // (actors piping the result to themselves) must never have their own thread blocked.

    public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        return Task.Run(() => WriteAtomically(key, path, content), cancellationToken);
    }

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        return Task.Run(() => ReadWhole(key, path), cancellationToken);
    }

    public Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        return Task.Run(() => ReadWhole(key, path) is { } content ? new VersionedObject(content, VersionOf(content)) : null, cancellationToken);
    }

    public Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        return Task.Run(() => PutIfVersion(key, path, content, expectedVersion, cancellationToken), cancellationToken);
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        return Task.Run(
            () =>
            {
                var file = new FileInfo(path);
                // FileInfo.Exists is false for a directory, which is not an object either.
                return file.Exists ? new ObjectInfo(key, file.Length) : null;
            },
            cancellationToken);
    }

    public Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        ObjectKeyRules.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        return Task.Run(
            () =>
            {
                try
                {
                    return FileSystemListing.ListPage(_root, prefix, continuationToken, maxKeys, cancellationToken);
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    throw new ObjectStoreException($"Cannot list objects under '{prefix}': {exception.Message}", exception);
                }
            },
            cancellationToken);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        return Task.Run(() => DeleteFile(key, path), cancellationToken);
    }

    private string PathFor(string key)
    {
        ObjectKeyRules.ValidateKey(key);
        var path = Path.GetFullPath(Path.Combine(_root, key.Replace(ObjectKeyRules.Separator, Path.DirectorySeparatorChar)));
        // The key rules already exclude "..", absolute keys and backslashes; this is the last
        // line of defence should a platform resolve some other spelling outside the root.
        if (!path.StartsWith(_rootWithSeparator, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Invalid object key \"{key}\": it resolves outside the store's root.", nameof(key));
        }

        return path;
    }

    private static void WriteAtomically(string key, string path, ReadOnlyMemory<byte> content)
    {
        try
        {
            // The reserved suffix keeps a temp file from ever being mistaken for an object.
            AtomicFile.Write(path, content.Span, ObjectKeyRules.ReservedSuffix);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            var hint = Directory.Exists(path) ? " (a directory of that name exists: other keys start with this key and '/')" : "";
            throw new ObjectStoreException($"Cannot write object '{key}'{hint}: {exception.Message}", exception);
        }
    }

    /// <summary>The version of an object with this content: a quoted hex hash, shaped like an S3 ETag.</summary>
    public static string VersionOf(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(content, hash);
        return "\"" + Convert.ToHexStringLower(hash[..VersionHashBytes]) + "\"";
    }

    private static string? PutIfVersion(string key, string path, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        try
        {
            AtomicFile.CreateDirectoryDurably(directory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"Cannot write object '{key}': {exception.Message}", exception);
        }

        using var objectLock = AcquireLock(key, Path.Combine(directory, "." + Path.GetFileName(path) + ObjectKeyRules.LockSuffix), cancellationToken);
        // Under the lock nobody else's conditional put can replace the object between this read
        // and the rename below: compare and swap are one step for every conditional writer.
        var current = ReadWhole(key, path);
        var matches = expectedVersion is null ? current is null : current is not null && VersionOf(current) == expectedVersion;
        if (!matches)
        {
            return null;
        }

        WriteAtomically(key, path, content);
        return VersionOf(content.Span);
    }

    private static FileStream AcquireLock(string key, string lockPath, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                // FileShare.None: .NET takes an exclusive flock(2), released when the stream is disposed
                // (or the process dies, so a crash never leaves the object locked).
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException exception) when (exception is not FileNotFoundException and not DirectoryNotFoundException)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new ObjectStoreException($"Cannot lock object '{key}' for a conditional write within {LockTimeout}: {exception.Message}", exception);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new ObjectStoreException($"Cannot lock object '{key}' for a conditional write: {exception.Message}", exception);
            }

            // Another writer holds it for a few milliseconds. .NET cannot wait on the lock itself, so poll.
            cancellationToken.WaitHandle.WaitOne(LockRetryDelay);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private static byte[]? ReadWhole(string key, string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException) when (Directory.Exists(path))
        {
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"Cannot read object '{key}': {exception.Message}", exception);
        }

        using (stream)
        {
            try
            {
                var length = stream.Length;
                if (length > Array.MaxLength)
                {
                    throw new ObjectStoreException($"Object '{key}' is {length} bytes, more than fits in one array.");
                }

                var content = new byte[length];
                var read = stream.ReadAtLeast(content, content.Length, throwOnEndOfStream: false);
                // Objects are replaced by rename, never written in place, so an open file keeps its
                // length; a difference means the file was damaged behind the store's back.
                if (read != length || stream.ReadByte() != -1)
                {
                    throw new ObjectStoreException($"Object '{key}' changed length while being read: expected {length} bytes, read {read}.");
                }

                return content;
            }
            catch (IOException exception)
            {
                throw new ObjectStoreException($"Cannot read object '{key}': {exception.Message}", exception);
            }
        }
    }

    private static void DeleteFile(string key, string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return;
            }

            File.Delete(path);
            // Without this a crash could resurrect the deleted object.
            AtomicFile.FlushDirectory(Path.GetDirectoryName(path)!);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"Cannot delete object '{key}': {exception.Message}", exception);
        }
    }
}
