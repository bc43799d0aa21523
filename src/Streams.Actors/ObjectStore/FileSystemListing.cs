namespace Streams.Actors.ObjectStore;

/// <summary>
/// Lists a <see cref="FileSystemObjectStore"/>'s keys in <see cref="ObjectKeyRules.KeyOrder"/>,
/// one page at a time. The continuation token is the last key returned, so paging needs no
/// state in the store: each page walks the tree again but skips every directory whose keys all
/// sort at or before the token, which keeps a page's cost near the size of the page.
/// </summary>
internal static class FileSystemListing
{
    // A caller asking for "everything" with int.MaxValue must not pre-allocate for it.
    private const int MaxInitialPageCapacity = 1000;

    public static ObjectListPage ListPage(string root, string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        // Start at the deepest directory the prefix names; its last, partial segment filters names.
        var lastSeparator = prefix.LastIndexOf(ObjectKeyRules.Separator);
        var directoryPrefix = prefix[..(lastSeparator + 1)];
        var namePrefix = prefix[(lastSeparator + 1)..];
        var startDirectory = Path.Combine(root, directoryPrefix.Replace(ObjectKeyRules.Separator, Path.DirectorySeparatorChar));

        var objects = new List<ObjectInfo>(Math.Min(maxKeys, MaxInitialPageCapacity));
        var hasMore = false;
        foreach (var entry in Walk(startDirectory, directoryPrefix, namePrefix, continuationToken, cancellationToken))
        {
            if (objects.Count == maxKeys)
            {
                hasMore = true;
                break;
            }

            objects.Add(entry);
        }

        return new ObjectListPage(objects, hasMore ? objects[^1].Key : null);
    }

    private static IEnumerable<ObjectInfo> Walk(string directory, string keyPrefix, string namePrefix, string? after, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var (sortKey, entry) in SortedEntries(directory, keyPrefix, namePrefix))
        {
            if (entry is FileInfo file)
            {
                if (after is not null && ObjectKeyRules.CompareKeys(sortKey, after) <= 0)
                {
                    continue;
                }

                long length;
                try
                {
                    length = file.Length;
                }
                catch (FileNotFoundException)
                {
                    // Deleted between enumeration and now: no longer an object.
                    continue;
                }

                yield return new ObjectInfo(sortKey, length);
            }
            else
            {
                // Every key under this directory starts with sortKey ("<name>/"). If that sorts
                // before the token and is not a prefix of it, all of them do: skip the subtree.
                if (after is not null
                    && ObjectKeyRules.CompareKeys(sortKey, after) < 0
                    && !after.StartsWith(sortKey, StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (var nested in Walk(entry.FullName, sortKey, namePrefix: "", after, cancellationToken))
                {
                    yield return nested;
                }
            }
        }
    }

    /// <summary>
    /// A directory's entries in key order. A directory sorts as "name/" because that is how
    /// every key inside it begins: "a-b" (a file) must come before "a/c" although "a" &lt; "a-b".
    /// </summary>
    private static List<(string SortKey, FileSystemInfo Entry)> SortedEntries(string directory, string keyPrefix, string namePrefix)
    {
        var entries = new List<(string, FileSystemInfo)>();
        DirectoryInfo info = new(directory);
        if (!info.Exists)
        {
            return entries;
        }

        IEnumerable<FileSystemInfo> children;
        try
        {
            children = info.EnumerateFileSystemInfos("*", new EnumerationOptions
            {
                // Objects are plain files and directories; a symlink could lead out of the root.
                AttributesToSkip = FileAttributes.ReparsePoint,
                IgnoreInaccessible = true,
            }).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            // Removed since the Exists check: it holds no objects.
            return entries;
        }

        foreach (var child in children)
        {
            var name = child.Name;
            if (!name.StartsWith(namePrefix, StringComparison.Ordinal)
                || name.EndsWith(ObjectKeyRules.ReservedSuffix, StringComparison.Ordinal)
                || name.EndsWith(ObjectKeyRules.LockSuffix, StringComparison.Ordinal)
                || !IsKeySegment(name))
            {
                continue;
            }

            var sortKey = child is DirectoryInfo ? keyPrefix + name + ObjectKeyRules.Separator : keyPrefix + name;
            entries.Add((sortKey, child));
        }

        entries.Sort((left, right) => ObjectKeyRules.CompareKeys(left.Item1, right.Item1));
        return entries;
    }

    // A file someone dropped into the tree by hand with a name no key could have is not an object.
    private static bool IsKeySegment(string name) =>
        !name.Contains('\\') && !name.Any(char.IsControl);
}
