using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Subscriptions;

/// <summary>Finds streams' tails by asking their owners, as a backfill does; runs off the actor thread.</summary>
internal static class StreamTails
{
    private const int NamePageSize = 1000;

    /// <summary>Names this node knows that <paramref name="pattern"/> matches.</summary>
    public static List<string> Matching(Func<string?, int, IReadOnlyList<string>> listStreamNames, string pattern)
    {
        var matches = new List<string>();
        string? after = null;
        do
        {
            (var page, after) = MatchingPage(listStreamNames, pattern, after, int.MaxValue);
            matches.AddRange(page);
        }
        while (after is not null);

        return matches;
    }

    /// <summary>
    /// Up to about <paramref name="limit"/> names this node knows that <paramref name="pattern"/>
    /// matches, after <paramref name="after"/>; <c>ResumeAfter</c> is where the next page starts,
    /// null when every name has been seen.
    /// </summary>
    public static (List<string> Matches, string? ResumeAfter) MatchingPage(
        Func<string?, int, IReadOnlyList<string>> listStreamNames, string pattern, string? after, int limit)
    {
        var matches = new List<string>();
        while (true)
        {
            var page = listStreamNames(after, NamePageSize);
            matches.AddRange(page.Where(name => StreamGlob.IsMatch(pattern, name)));
            if (page.Count < NamePageSize)
            {
                return (matches, null);
            }

            after = page[^1];
            if (matches.Count >= limit)
            {
                return (matches, after);
            }
        }
    }

    /// <summary>The tail of each stream, or null for a stream that does not exist (or did not answer).</summary>
    public static async Task<Dictionary<string, Offset?>> DescribeAsync(IActorRef streams, IEnumerable<string> names, int parallelism, TimeSpan timeout)
    {
        var tails = new Dictionary<string, Offset?>(StringComparer.Ordinal);
        var gate = new object();
        await Parallel.ForEachAsync(
            names.Distinct(StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            async (name, cancellationToken) =>
            {
                Offset? tail = null;
                try
                {
                    var reply = await streams.Ask<object>(new StreamCommands.DescribeStream(name), timeout, cancellationToken);
                    tail = reply is StreamDescribed described ? described.Stream.Tail : null;
                }
                catch (AskTimeoutException)
                {
                    // Unknown for now: the stream's own signal brings its tail when it next loads or appends.
                }

                lock (gate)
                {
                    tails[name] = tail;
                }
            });
        return tails;
    }
}
