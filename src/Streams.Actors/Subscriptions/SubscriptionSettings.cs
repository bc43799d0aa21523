namespace Streams.Actors.Subscriptions;

/// <summary>The subscription engine's tuning, from <c>streams.subscriptions</c> in <c>streams.conf</c>.</summary>
public sealed record SubscriptionSettings
{
    public required int MaxInFlightDeliveries { get; init; }

    public required TimeSpan DeliveryTimeout { get; init; }

    public required TimeSpan RetryInitialBackoff { get; init; }

    public required TimeSpan RetryMaxBackoff { get; init; }

    public required double RetryJitter { get; init; }

    public required SubscriptionLimits Limits { get; init; }

    public required int BackfillParallelism { get; init; }

    public required TimeSpan SigningKeyMaxAge { get; init; }

    public required TimeSpan SigningKeyRetention { get; init; }

    /// <summary>Loopback and private receivers allowed (<c>--allow-private-webhooks</c>); link-local and metadata never.</summary>
    public bool AllowPrivateWebhooks { get; init; }

    private const int MaxStreamNameBytes = 1024;

    public static SubscriptionSettings From(Akka.Configuration.Config config, bool allowPrivateWebhooks)
    {
        var section = config.WithFallback(Config.StreamsSettings.DefaultConfig()).GetConfig("streams.subscriptions");
        return new SubscriptionSettings
        {
            MaxInFlightDeliveries = section.GetInt("max-in-flight-deliveries"),
            DeliveryTimeout = section.GetTimeSpan("delivery-timeout"),
            RetryInitialBackoff = section.GetTimeSpan("retry-initial-backoff"),
            RetryMaxBackoff = section.GetTimeSpan("retry-max-backoff"),
            RetryJitter = section.GetDouble("retry-jitter"),
            Limits = new SubscriptionLimits(
                section.GetInt("max-pattern-length"),
                section.GetInt("max-streams-per-request"),
                MaxStreamNameBytes,
                section.GetInt("max-description-length"),
                (long)section.GetTimeSpan("min-lease-ttl").TotalMilliseconds,
                (long)section.GetTimeSpan("max-lease-ttl").TotalMilliseconds,
                (long)section.GetTimeSpan("default-lease-ttl").TotalMilliseconds),
            BackfillParallelism = section.GetInt("backfill-parallelism"),
            SigningKeyMaxAge = section.GetTimeSpan("signing-key-max-age"),
            SigningKeyRetention = section.GetTimeSpan("signing-key-retention"),
            AllowPrivateWebhooks = allowPrivateWebhooks,
        };
    }

    /// <summary>The delay before retry number <paramref name="attempt"/> (1-based): exponential, capped, jittered.</summary>
    public TimeSpan RetryDelay(int attempt, double random)
    {
        var exponent = Math.Min(attempt - 1, 30);
        var baseMs = Math.Min(RetryInitialBackoff.TotalMilliseconds * Math.Pow(2, exponent), RetryMaxBackoff.TotalMilliseconds);
        // random in [0, 1) spreads the delay over +/- jitter, so receivers coming back are not hit in step.
        var jittered = baseMs * (1 + (RetryJitter * ((random * 2) - 1)));
        return TimeSpan.FromMilliseconds(Math.Max(0, jittered));
    }
}
