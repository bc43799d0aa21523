namespace Streams.Api;

/// <summary>Deployment settings: bound from appsettings, environment variables and command-line flags.</summary>
public sealed class ServerOptions
{
    public const string Section = "Streams";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 4437;

    public string DataDir { get; set; } = "./data";

    /// <summary>Overrides <c>streams.long-poll-timeout</c>; tests use a short one.</summary>
    public int? LongPollTimeoutMs { get; set; }

    /// <summary>Overrides <c>streams.max-append-bytes</c>.</summary>
    public long? MaxAppendBytes { get; set; }
}
