namespace Streams.Actors.Protocol;

/// <summary>Messages between the segmenter, the uploader and whoever drives a drain.</summary>
public static class PipelineMessages
{
    /// <summary>Seal every waiting record now, whatever the thresholds; answered with <see cref="AllSealed"/>.</summary>
    public sealed record SealAll;

    public sealed record AllSealed(int StreamsSealed, string? Error);

    /// <summary>
    /// Seal every waiting record of one stream now (a stream handed to another node); answered with
    /// <see cref="AllSealed"/>. Goes through the segmenter so it never seals a stream at the same time.
    /// </summary>
    public sealed record SealStream(long StreamId);

    /// <summary>The segmenter sealed new segments: worth an upload round now rather than at the next tick.</summary>
    public sealed record SegmentsSealed(int StreamCount);

    /// <summary>
    /// Upload and publish every stream that is behind; with <paramref name="Draining"/> also republish
    /// complete streams so their manifests say they were drained cleanly. Answered with <see cref="AllPublished"/>.
    /// </summary>
    public sealed record PublishAll(bool Draining);

    /// <summary>
    /// Upload and publish one stream with a manifest that says it was drained cleanly (a stream handed
    /// to another node); answered with <see cref="AllPublished"/>. Goes through the uploader so two
    /// publishes of one stream never race for the same generation.
    /// </summary>
    public sealed record PublishStream(long StreamId);

    /// <summary>
    /// Run a compaction round now (whatever the upload backlog), as the compactor's timer would;
    /// answered with <see cref="CompactionRoundFinished"/> once the round is over and the uploader has
    /// been told of the new layouts.
    /// </summary>
    public sealed record CompactNow;

    public sealed record CompactionRoundFinished(int StreamsCompacted, int SegmentsRemoved, int Failed, string? Error);

    public sealed record AllPublished(int Published, int Failed, int TombstonesPublished)
    {
        /// <summary>Set when the round as a whole failed: nothing in it can be counted as published.</summary>
        public string? Error { get; init; }
    }
}
