using Streams.Actors.ObjectStore;

namespace Streams.Tests.Support;

/// <summary>
/// The real S3 server the integration tests talk to, described by the env file that
/// scripts/s3-test-server.sh writes. Without it the S3 tests are skipped with a reason, unless
/// STREAMS_REQUIRE_S3=1 (CI sets it), in which case they fail: a CI run must not go green
/// because the server never started.
/// </summary>
public sealed record S3TestServer(string Endpoint, string AccessKey, string SecretKey, string Region)
{
    public const string EndpointVariable = "STREAMS_TEST_S3_ENDPOINT";
    public const string AccessKeyVariable = "STREAMS_TEST_S3_ACCESS_KEY";
    public const string SecretKeyVariable = "STREAMS_TEST_S3_SECRET_KEY";
    public const string RegionVariable = "STREAMS_TEST_S3_REGION";
    public const string RequireVariable = "STREAMS_REQUIRE_S3";

    private const string HowToStart =
        "start it with `scripts/s3-test-server.sh start` and load the env file it prints "
        + "(set -a; . /tmp/streams-s3-test/s3.env; set +a) before `dotnet test`";

    public static readonly S3TestServer? Configured = FromEnvironment();

    public static bool IsRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Why S3 tests are skipped in this run, or null when they run.</summary>
    public static string? SkipReason => Configured is null && !IsRequired
        ? $"S3 tests skipped: {EndpointVariable} is not set, so no S3 test server is available; {HowToStart}."
        : null;

    /// <summary>The configured server; throws, failing the test, when there is none.</summary>
    public static S3TestServer Require() => Configured ?? throw new InvalidOperationException(
        $"The S3 test server was not started ({RequireVariable}=1 but {EndpointVariable}, {AccessKeyVariable}, "
        + $"{SecretKeyVariable} and {RegionVariable} are not all set): {HowToStart}.");

    public S3ObjectStoreOptions Options(string bucket, string? keyPrefix = null) => new()
    {
        Endpoint = Endpoint,
        Region = Region,
        Bucket = bucket,
        KeyPrefix = keyPrefix,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
    };

    /// <summary>Leaves the keys out, so a test's or the benchmark's output never shows them.</summary>
    public override string ToString() => $"S3TestServer {{ Endpoint = {Endpoint}, Region = {Region} }}";

    private static S3TestServer? FromEnvironment()
    {
        var endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
        var accessKey = Environment.GetEnvironmentVariable(AccessKeyVariable);
        var secretKey = Environment.GetEnvironmentVariable(SecretKeyVariable);
        var region = Environment.GetEnvironmentVariable(RegionVariable);
        return string.IsNullOrEmpty(endpoint) || string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey)
            ? null
            : new S3TestServer(endpoint, accessKey, secretKey, string.IsNullOrEmpty(region) ? S3ObjectStoreOptions.DefaultRegion : region);
    }
}
