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
/// </remarks>
public sealed class FileSystemObjectStore : IObjectStore
{
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
