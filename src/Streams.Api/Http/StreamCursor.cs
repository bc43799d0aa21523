using System.Globalization;

namespace Streams.Api.Http;

/// <summary>
/// Live responses carry a cursor so CDNs collapse identical long-polls: the number of fixed
/// intervals since a fixed epoch. A client echoing a cursor at or beyond the current interval gets a
/// strictly larger one (with jitter), so cursors never go backwards and never repeat.
/// </summary>
internal static class StreamCursor
{
    private static readonly DateTimeOffset Epoch = new(2024, 10, 9, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(20);
    private const int MinJitterSeconds = 1;
    private const int MaxJitterSeconds = 3600;
    /// <summary>An upper bound on the jitter in intervals (an interval is at least a second).</summary>
    private const long MaxJitterIntervals = MaxJitterSeconds;

    public static string Next(string? clientCursor, DateTimeOffset now)
    {
        var current = (long)Math.Floor((now - Epoch) / Interval);
        // A cursor is ours only if it is plain digits and leaves room for the jitter; anything else
        // (junk, signs, a value near long.MaxValue that would wrap negative) is treated as absent.
        if (long.TryParse(clientCursor, NumberStyles.None, CultureInfo.InvariantCulture, out var echoed) &&
            echoed >= current &&
            echoed <= long.MaxValue - MaxJitterIntervals)
        {
            var jitterIntervals = Math.Max(1, Random.Shared.Next(MinJitterSeconds, MaxJitterSeconds + 1) / (long)Interval.TotalSeconds);
            return (echoed + jitterIntervals).ToString(CultureInfo.InvariantCulture);
        }

        return current.ToString(CultureInfo.InvariantCulture);
    }
}
