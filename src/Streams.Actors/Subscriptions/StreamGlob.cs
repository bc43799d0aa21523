namespace Streams.Actors.Subscriptions;

/// <summary>
/// Stream-name globs of pattern subscriptions. Names and patterns are split on '/'. A segment
/// <c>**</c> matches zero or more whole segments; any other segment matches exactly one segment,
/// where <c>*</c> stands for any run of characters inside that segment (<c>events/*</c> matches
/// <c>events/a</c> but not <c>events/a/b</c>; <c>events/**</c> matches both and <c>events</c>).
/// Matching is dynamic programming over segments, so a pattern of many <c>**</c> cannot make it
/// exponential.
/// </summary>
public static class StreamGlob
{
    private const string AnySegments = "**";

    /// <summary>Null when <paramref name="pattern"/> is usable, otherwise why not.</summary>
    public static string? Problem(string pattern, int maxLength)
    {
        if (pattern.Length == 0)
        {
            return "pattern must not be empty";
        }

        if (pattern.Length > maxLength)
        {
            return $"pattern is longer than {maxLength} characters";
        }

        foreach (var segment in pattern.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "pattern must not have an empty segment (a leading, trailing or doubled '/')";
            }

            if (segment != AnySegments && segment.Contains(AnySegments, StringComparison.Ordinal))
            {
                return "'**' must be a whole segment of the pattern";
            }

            if (segment.Any(char.IsControl))
            {
                return "pattern must not contain control characters";
            }
        }

        return null;
    }

    public static bool IsMatch(string pattern, string streamName)
    {
        var patternSegments = pattern.Split('/');
        var nameSegments = streamName.Split('/');
        // matches[p, n]: pattern segments [p..] match name segments [n..].
        var matches = new bool[patternSegments.Length + 1, nameSegments.Length + 1];
        matches[patternSegments.Length, nameSegments.Length] = true;
        for (var p = patternSegments.Length - 1; p >= 0; p--)
        {
            var segment = patternSegments[p];
            for (var n = nameSegments.Length; n >= 0; n--)
            {
                if (segment == AnySegments)
                {
                    // Either "**" matches nothing more, or it swallows name segment n and stays.
                    matches[p, n] = matches[p + 1, n] || (n < nameSegments.Length && matches[p, n + 1]);
                }
                else
                {
                    matches[p, n] = n < nameSegments.Length && matches[p + 1, n + 1] && SegmentMatches(segment, nameSegments[n]);
                }
            }
        }

        return matches[0, 0];
    }

    /// <summary>One segment with '*' wildcards against one name segment (classic wildcard DP).</summary>
    private static bool SegmentMatches(string segment, string name)
    {
        if (!segment.Contains('*', StringComparison.Ordinal))
        {
            return string.Equals(segment, name, StringComparison.Ordinal);
        }

        var previous = new bool[name.Length + 1];
        var current = new bool[name.Length + 1];
        previous[0] = true;
        foreach (var patternChar in segment)
        {
            current[0] = previous[0] && patternChar == '*';
            for (var i = 1; i <= name.Length; i++)
            {
                current[i] = patternChar == '*'
                    ? current[i - 1] || previous[i]
                    : previous[i - 1] && patternChar == name[i - 1];
            }

            (previous, current) = (current, previous);
        }

        return previous[name.Length];
    }
}
