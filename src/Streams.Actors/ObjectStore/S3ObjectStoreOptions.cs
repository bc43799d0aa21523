namespace Streams.Actors.ObjectStore;

/// <summary>
/// Where and how <see cref="S3ObjectStore"/> reaches an S3-compatible service (AWS S3, MinIO,
/// Ceph RGW, Cloudflare R2). <see cref="ToString"/> never prints the credentials.
/// </summary>
public sealed record S3ObjectStoreOptions
{
    public const string DefaultRegion = "us-east-1";

    /// <summary>Base URL with scheme, host and optional port, e.g. <c>http://127.0.0.1:7480</c>. No path.</summary>
    public required string Endpoint { get; init; }

    /// <summary>Signing region; "us-east-1" suits MinIO and Ceph RGW, "auto" suits R2.</summary>
    public string Region { get; init; } = DefaultRegion;

    public required string Bucket { get; init; }

    /// <summary>
    /// Address the bucket in the path (<c>host/bucket/key</c>) rather than the host name. The
    /// Minio 7.0.0 SDK only does path-style requests, so false is rejected rather than ignored.
    /// </summary>
    public bool UsePathStyle { get; init; } = true;

    /// <summary>
    /// Optional prefix for every key, to share a bucket between deployments ("prod" and
    /// "prod/" are the same). Keys passed to the store and returned by List exclude it.
    /// </summary>
    public string? KeyPrefix { get; init; }

    public required string AccessKey { get; init; }

    public required string SecretKey { get; init; }

    public override string ToString() =>
        $"{nameof(S3ObjectStoreOptions)} {{ {nameof(Endpoint)} = {Endpoint}, {nameof(Region)} = {Region}, "
        + $"{nameof(Bucket)} = {Bucket}, {nameof(UsePathStyle)} = {UsePathStyle}, {nameof(KeyPrefix)} = {KeyPrefix}, "
        + $"{nameof(AccessKey)} = {Redacted(AccessKey)}, {nameof(SecretKey)} = {Redacted(SecretKey)} }}";

    private static string Redacted(string? value) => string.IsNullOrEmpty(value) ? "(empty)" : "(set)";
}
