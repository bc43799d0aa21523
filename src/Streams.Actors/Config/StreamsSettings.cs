using System.Reflection;
using Akka.Configuration;

namespace Streams.Actors.Config;

/// <summary>The engine's tuning, parsed once from HOCON (embedded defaults plus overrides).</summary>
public sealed record StreamsSettings
{
    public required TimeSpan LongPollTimeout { get; init; }

    public required TimeSpan SseMaxConnectionAge { get; init; }

    public required TimeSpan PassivateAfter { get; init; }

    public required long MaxReadBytes { get; init; }

    public required long MaxAppendBytes { get; init; }

    public required int MaxAppendMessages { get; init; }

    public required TimeSpan AskTimeout { get; init; }

    public required TimeSpan TouchPersistInterval { get; init; }

    public required int WalMaxOperationsPerCommit { get; init; }

    private const string ResourceName = "Streams.Actors.Config.streams.conf";

    /// <summary>The embedded defaults as HOCON, to be used as the fallback of any overrides.</summary>
    public static Akka.Configuration.Config DefaultConfig()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    public static StreamsSettings From(Akka.Configuration.Config config)
    {
        var streams = config.WithFallback(DefaultConfig()).GetConfig("streams");
        return new StreamsSettings
        {
            LongPollTimeout = streams.GetTimeSpan("long-poll-timeout"),
            SseMaxConnectionAge = streams.GetTimeSpan("sse-max-connection-age"),
            PassivateAfter = streams.GetTimeSpan("passivate-after"),
            MaxReadBytes = streams.GetLong("max-read-bytes"),
            MaxAppendBytes = streams.GetLong("max-append-bytes"),
            MaxAppendMessages = streams.GetInt("max-append-messages"),
            AskTimeout = streams.GetTimeSpan("ask-timeout"),
            TouchPersistInterval = streams.GetTimeSpan("touch-persist-interval"),
            WalMaxOperationsPerCommit = streams.GetInt("wal-max-operations-per-commit"),
        };
    }

    public static StreamsSettings Default => From(Akka.Configuration.Config.Empty);
}
