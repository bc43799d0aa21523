namespace Streams.Actors.ObjectStore;

/// <summary>
/// The rules every store applies to keys and list prefixes, and the order keys are listed in.
/// Both stores enforce the same rules so that a key accepted by one is accepted by the other,
/// even though only the file-system store could be harmed by, say, a ".." segment.
/// </summary>
internal static class ObjectKeyRules
{
    public const char Separator = '/';

    /// <summary>
    /// The file-system store names its in-flight temp files with this suffix. Reserving it
    /// for every store keeps a temp file from ever being mistaken for an object.
    /// </summary>
    public const string ReservedSuffix = ".objstore-tmp";

    /// <summary>
    /// The file-system store's per-object lock files for conditional puts end with this suffix;
    /// reserved for the same reason. Unlike temp files they are never swept: deleting a lock file
    /// another process holds would let a third one lock a new file of the same name.
    /// </summary>
    public const string LockSuffix = ".objstore-lock";

    // UTF-16 code units in this range are surrogates; see CompareKeys.
    private const char FirstSurrogate = '\uD800';
    private const char FirstCharAfterSurrogates = '\uE000';
    private const int SurrogateRangeLength = FirstCharAfterSurrogates - FirstSurrogate;
    private const int CharsAfterSurrogates = char.MaxValue + 1 - FirstCharAfterSurrogates;

    /// <summary>
    /// Orders keys by Unicode code point, which is the UTF-8 byte order S3 lists in. It equals
    /// ordinal order except that characters outside the BMP (surrogate pairs) sort after U+E000..U+FFFF.
    /// </summary>
    public static readonly IComparer<string> KeyOrder = Comparer<string>.Create(CompareKeys);

    /// <summary>Throws <see cref="ArgumentException"/> explaining why <paramref name="key"/> is not a valid key.</summary>
    public static void ValidateKey(string key, string parameterName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, parameterName);
        if (key.Length == 0)
        {
            throw Invalid(key, "it is empty", parameterName);
        }

        ValidateCharacters(key, parameterName);
        foreach (var segment in key.Split(Separator))
        {
            ValidateSegment(key, segment, parameterName);
        }
    }

    /// <summary>
    /// A list prefix may be empty or end in the middle of a segment ("streams/ab"), but every
    /// complete segment in it must be one a key could contain.
    /// </summary>
    public static void ValidatePrefix(string prefix, string parameterName = "prefix")
    {
        ArgumentNullException.ThrowIfNull(prefix, parameterName);
        if (prefix.Length == 0)
        {
            return;
        }

        ValidateCharacters(prefix, parameterName);
        var segments = prefix.Split(Separator);
        foreach (var completeSegment in segments[..^1])
        {
            ValidateSegment(prefix, completeSegment, parameterName);
        }
    }

    public static int CompareKeys(string? left, string? right)
    {
        if (ReferenceEquals(left, right))
        {
            return 0;
        }

        if (left is null)
        {
            return -1;
        }

        if (right is null)
        {
            return 1;
        }

        var common = Math.Min(left.Length, right.Length);
        for (var i = 0; i < common; i++)
        {
            if (left[i] != right[i])
            {
                return CodePointRank(left[i]) - CodePointRank(right[i]);
            }
        }

        return left.Length - right.Length;
    }

    // At the first differing UTF-16 unit, moving surrogates above U+E000..U+FFFF makes the
    // comparison agree with code point order (a surrogate pair encodes a code point > U+FFFF).
    private static int CodePointRank(char c) => c switch
    {
        < FirstSurrogate => c,
        < FirstCharAfterSurrogates => c + CharsAfterSurrogates,
        _ => c - SurrogateRangeLength,
    };

    private static void ValidateCharacters(string text, string parameterName)
    {
        if (text[0] == Separator)
        {
            throw Invalid(text, "it starts with '/' (keys are relative)", parameterName);
        }

        foreach (var c in text)
        {
            if (c == '\\')
            {
                throw Invalid(text, "it contains a backslash", parameterName);
            }

            if (char.IsControl(c))
            {
                throw Invalid(text, c == '\0' ? "it contains a NUL character" : "it contains a control character", parameterName);
            }
        }
    }

    private static void ValidateSegment(string text, string segment, string parameterName)
    {
        if (segment.Length == 0)
        {
            throw Invalid(text, "it has an empty segment (\"//\" or a trailing '/')", parameterName);
        }

        if (segment is "." or "..")
        {
            throw Invalid(text, $"it has a '{segment}' segment, which could escape the store's root", parameterName);
        }

        if (segment.EndsWith(ReservedSuffix, StringComparison.Ordinal))
        {
            throw Invalid(text, $"a segment ends with the reserved suffix '{ReservedSuffix}'", parameterName);
        }

        if (segment.EndsWith(LockSuffix, StringComparison.Ordinal))
        {
            throw Invalid(text, $"a segment ends with the reserved suffix '{LockSuffix}'", parameterName);
        }
    }

    private static ArgumentException Invalid(string text, string reason, string parameterName) =>
        new($"Invalid object key \"{Printable(text)}\": {reason}.", parameterName);

    // Keeps NULs and other control characters out of messages and logs.
    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
