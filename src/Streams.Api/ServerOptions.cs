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

    /// <summary>Overrides <c>streams.segment.target-rows</c>.</summary>
    public int? SegmentTargetRows { get; set; }

    /// <summary>Overrides <c>streams.segment.max-age</c>.</summary>
    public int? SegmentMaxAgeMs { get; set; }

    /// <summary>Extra HOCON applied over the embedded defaults, e.g. <c>streams.upload.parallelism = 16</c>.</summary>
    public string? Hocon { get; set; }

    /// <summary><c>local</c> (a directory, the default) or <c>s3</c> (any S3-compatible service; alias <c>r2</c>).</summary>
    public string ObjectStore { get; set; } = "local";

    /// <summary>Root of the local object store; defaults to <c>objects/</c> under the data directory.</summary>
    public string? ObjectStoreDir { get; set; }

    public string? S3Endpoint { get; set; }

    public string? S3Bucket { get; set; }

    public string S3Region { get; set; } = "us-east-1";

    public string? S3Prefix { get; set; }

    public bool S3PathStyle { get; set; } = true;

    /// <summary>Cloudflare account id: gives the R2 endpoint when no endpoint is set.</summary>
    public string? R2AccountId { get; set; }

    /// <summary><c>none</c> (serve what the local disk has), <c>eager</c> or <c>lazy</c>.</summary>
    public string Restore { get; set; } = "none";

    /// <summary>Streams restored at once by the eager bootstrap.</summary>
    public int? RestoreParallelism { get; set; }
}
