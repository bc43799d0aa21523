using Streams.Actors.Domain;

namespace Streams.Actors.Protocol;

/// <summary>Every message addressed to one stream carries the stream's name, so it can be routed.</summary>
public interface IStreamCommand
{
    string StreamName { get; }
}

/// <summary>Commands the HTTP front door sends to a stream's owner.</summary>
public static class StreamCommands
{
    /// <summary>
    /// PUT. <paramref name="InitialRecords"/> are already split (JSON mode) by the caller.
    /// </summary>
    public sealed record CreateStream(
        string StreamName,
        string ContentType,
        long? TtlSeconds,
        DateTimeOffset? ExpiresAt,
        bool Closed,
        IReadOnlyList<byte[]> InitialRecords) : IStreamCommand;

    /// <summary>
    /// POST. <paramref name="ContentType"/> is null when the request had no body. An empty
    /// <paramref name="Records"/> with <paramref name="Close"/> is a close-only request.
    /// </summary>
    public sealed record AppendToStream(
        string StreamName,
        string? ContentType,
        IReadOnlyList<byte[]> Records,
        bool Close,
        string? StreamSeq,
        ProducerClaim? Producer) : IStreamCommand;

    /// <summary>
    /// GET. With <paramref name="WaitFor"/> the reply is delayed until data arrives, the stream
    /// closes, or the wait ends (long-poll and SSE); without it the reply is immediate.
    /// </summary>
    public sealed record ReadStream(
        string StreamName,
        ReadStart Start,
        TimeSpan? WaitFor,
        long MaxBytes) : IStreamCommand;

    /// <summary>HEAD: metadata only, and it does not count as activity for the sliding TTL.</summary>
    public sealed record DescribeStream(string StreamName) : IStreamCommand;

    public sealed record DeleteStream(string StreamName) : IStreamCommand;

    /// <summary>The stream's pipeline state for operators (<c>_details</c>); not activity for the TTL.</summary>
    public sealed record GetStreamDetails(string StreamName) : IStreamCommand;
}
