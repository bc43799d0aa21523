namespace Streams.Actors.Config;

/// <summary>
/// How compaction merges small segments and when replaced objects are deleted (HOCON
/// <c>streams.compaction</c>; see docs/adr/0007-compaction-and-safe-deletion.md).
/// </summary>
public sealed record CompactionSettings
{
    public required bool Enabled { get; init; }

    public required TimeSpan CheckInterval { get; init; }

    public required int Parallelism { get; init; }

    public required int FanIn { get; init; }

    public required TimeSpan QuietAfter { get; init; }

    public required TimeSpan DeletionGrace { get; init; }

    public required long MaxUploadBacklogBytes { get; init; }

    public static CompactionSettings From(Akka.Configuration.Config streams)
    {
        var settings = new CompactionSettings
        {
            Enabled = streams.GetBoolean("compaction.enabled"),
            CheckInterval = streams.GetTimeSpan("compaction.check-interval"),
            Parallelism = streams.GetInt("compaction.parallelism"),
            FanIn = streams.GetInt("compaction.fan-in"),
            QuietAfter = streams.GetTimeSpan("compaction.quiet-after"),
            DeletionGrace = streams.GetTimeSpan("compaction.deletion-grace"),
            MaxUploadBacklogBytes = streams.GetLong("compaction.max-upload-backlog-bytes"),
        };
        if (settings.FanIn < 2 || settings.Parallelism < 1 || settings.CheckInterval <= TimeSpan.Zero || settings.DeletionGrace < TimeSpan.Zero)
        {
            throw new ArgumentException(
                "streams.compaction: fan-in must be at least 2, parallelism at least 1, check-interval positive and deletion-grace not negative");
        }

        return settings;
    }
}
