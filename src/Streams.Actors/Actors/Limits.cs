using Streams.Actors.Domain;
using Streams.Actors.Telemetry;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>The answer to a request refused because a configured limit (<c>streams.limits.*</c>) is full.</summary>
internal static class Limits
{
    public static StreamRejected Refusal(string limit)
    {
        StreamsMetrics.Overloaded(limit);
        return new StreamRejected(ErrorCode.Overloaded, $"the server is at its {limit} limit; retry shortly");
    }
}
