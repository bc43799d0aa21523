using Akka.Actor;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Cluster mode, one per node at <c>/user/stream-names</c>: answers which streams in this node's
/// local index a pattern matches, a page at a time, so a subscription created on another node
/// backfills the streams this node holds. Stateless; the scan of the index runs off the actor.
/// </summary>
public sealed class StreamNamesActor : ReceiveActor
{
    public const string Name = "stream-names";

    public StreamNamesActor(Func<string?, int, IReadOnlyList<string>> listStreamNames)
    {
        Receive<StreamNameMessages.MatchLocalStreams>(match =>
        {
            Task.Run(() =>
                {
                    var (names, resumeAfter) = StreamTails.MatchingPage(listStreamNames, match.Pattern, match.After, match.Limit);
                    return new StreamNameMessages.LocalStreamsMatched(names, resumeAfter);
                })
                .PipeTo(Sender);
        });
    }

    public static Props Props(Func<string?, int, IReadOnlyList<string>> listStreamNames) =>
        Akka.Actor.Props.Create(() => new StreamNamesActor(listStreamNames));
}

/// <summary>Small messages between nodes: names only, a bounded page of them.</summary>
public static class StreamNameMessages
{
    public sealed record MatchLocalStreams(string Pattern, string? After, int Limit);

    /// <summary><paramref name="ResumeAfter"/>: ask again from there; null when the whole index was scanned.</summary>
    public sealed record LocalStreamsMatched(IReadOnlyList<string> Names, string? ResumeAfter);
}
