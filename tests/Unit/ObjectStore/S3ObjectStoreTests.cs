using System.Globalization;
using System.Net;
using System.Text;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;
using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>
/// S3-specific behaviour: the Minio 7.0.0 defects the store works around, error mapping and
/// credential hygiene. Most tests drive the real SDK against <see cref="FakeS3Server"/>, which
/// can misbehave on purpose; the [S3Fact] ones need the real S3 test server.
/// </summary>
public sealed class S3ObjectStoreTests : IClassFixture<S3TestBucket>, IDisposable
{
    private const string Bucket = "fake-bucket";
    private const string Key = "streams/abc/segments/0000000000000000.seg";
    private const string AccessKey = "FAKEACCESSKEY0123456";
    private const string SecretKey = "fake/secret+key/0123456789abcdefghijklmn";
    private const int ObjectSize = 100;
    private const int TruncatedSize = 50;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(1);

    private readonly S3TestBucket _realBucket;
    private readonly CancellationTokenSource _timeout = new(TestTimeout);

    public S3ObjectStoreTests(S3TestBucket realBucket)
    {
        _realBucket = realBucket;
    }

    private CancellationToken Timeout => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Should_get_an_object_with_one_request_and_no_stat_before_it()
    {
        // Minio's GetObject checks the bucket and stats the object first: three round trips. The
        // store presigns locally and sends the GET alone.
        var content = Enumerable.Range(0, ObjectSize).Select(i => (byte)i).ToArray();
        await using var server = new FakeS3Server(ObjectServer(getReply: FakeResponse.Ok(content)));
        using var store = new S3ObjectStore(FakeOptions(server));

        var read = await store.GetAsync(Key, Timeout);

        Assert.Equal(content, read);
        var get = Assert.Single(server.Requests);
        Assert.Equal("GET", get.Method);
        Assert.Equal($"/{Bucket}/{Key}", get.Path);
    }

    [Theory]
    [InlineData(null, "If-None-Match", "*")]
    [InlineData("\"abc\"", "If-Match", "abc")]
    public async Task Should_send_the_condition_as_a_header_in_one_request_when_putting_conditionally(string? expected, string header, string value)
    {
        await using var server = new FakeS3Server(_ => new FakeResponse((int)HttpStatusCode.OK, [], new Dictionary<string, string> { ["ETag"] = "\"new\"" }));
        using var store = new S3ObjectStore(FakeOptions(server));

        var version = await store.PutIfVersionAsync(Key, "manifest"u8.ToArray(), expected, Timeout);

        Assert.Equal("\"new\"", version);
        var put = Assert.Single(server.Requests);
        Assert.Equal("PUT", put.Method);
        Assert.Equal("manifest"u8.ToArray(), put.Body);
        Assert.Equal(value, put.Headers[header]);
        Assert.DoesNotContain(put.Headers.Keys, name => name.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData((int)HttpStatusCode.PreconditionFailed)]
    [InlineData((int)HttpStatusCode.NotFound)]
    public async Task Should_return_null_when_the_server_refuses_the_conditional_put(int status)
    {
        await using var server = new FakeS3Server(_ => new FakeResponse(status, Encoding.UTF8.GetBytes("<Error><Code>PreconditionFailed</Code></Error>")));
        using var store = new S3ObjectStore(FakeOptions(server));

        Assert.Null(await store.PutIfVersionAsync(Key, "manifest"u8.ToArray(), "\"old\"", Timeout));
    }

    [Fact]
    public async Task Should_throw_with_the_error_code_but_not_the_presigned_url_when_a_conditional_put_fails_otherwise()
    {
        await using var server = new FakeS3Server(_ => new FakeResponse((int)HttpStatusCode.Conflict, Encoding.UTF8.GetBytes("<Error><Code>ConditionalRequestConflict</Code></Error>")));
        using var store = new S3ObjectStore(FakeOptions(server));

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutIfVersionAsync(Key, "m"u8.ToArray(), "\"old\"", Timeout));

        Assert.Contains("ConditionalRequestConflict", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AccessKey, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("X-Amz-Signature", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_throw_when_the_connection_closes_before_the_advertised_content_length()
    {
        await using var server = new FakeS3Server(ObjectServer(getReply: FakeResponse.Ok(new byte[TruncatedSize], declaredLength: ObjectSize)));
        using var store = new S3ObjectStore(FakeOptions(server));

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetAsync(Key, Timeout));

        Assert.Contains($"S3 get '{Key}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_fetch_the_whole_object_without_a_range_header_when_getting()
    {
        var content = Enumerable.Range(0, ObjectSize).Select(i => (byte)i).ToArray();
        await using var server = new FakeS3Server(ObjectServer(getReply: FakeResponse.Ok(content)));
        using var store = new S3ObjectStore(FakeOptions(server));

        var read = await store.GetAsync(Key, Timeout);

        Assert.Equal(content, read);
        Assert.Contains(server.Requests, request => request.Method == "GET" && request.Path == $"/{Bucket}/{Key}");
        Assert.All(server.Requests, request => Assert.False(request.Headers.ContainsKey("Range"), $"{request.Method} {request.Target} sent a Range header"));
    }

    [Fact]
    public async Task Should_send_no_conditional_headers_when_putting_unconditionally()
    {
        await using var server = new FakeS3Server(_ => FakeResponse.Ok());
        using var store = new S3ObjectStore(FakeOptions(server));

        await store.PutAsync(Key, "segment"u8.ToArray(), Timeout);

        var put = Assert.Single(server.Requests);
        Assert.Equal("PUT", put.Method);
        Assert.Equal("segment"u8.ToArray(), put.Body);
        Assert.DoesNotContain(put.Headers.Keys, name => name.StartsWith("If-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Should_turn_if_none_match_into_user_metadata_when_minio_put_object_is_given_it()
    {
        // Documents the SDK defect that rules out conditional writes: the header never reaches
        // the server as a precondition. If this starts failing, the SDK was fixed.
        await using var server = new FakeS3Server(_ => FakeResponse.Ok());
        using var client = FakeClient(server);
        using var body = new MemoryStream("x"u8.ToArray());

        await client.PutObjectAsync(
            new PutObjectArgs().WithBucket(Bucket).WithObject(Key).WithStreamData(body).WithObjectSize(body.Length)
                .WithHeaders(new Dictionary<string, string> { ["If-None-Match"] = "*" }),
            Timeout);

        var put = Assert.Single(server.Requests);
        Assert.False(put.Headers.ContainsKey("If-None-Match"));
        Assert.Equal("*", put.Headers["x-amz-meta-if-none-match"]);
    }

    [Fact]
    public async Task Should_keep_credentials_out_of_the_exception_when_the_server_error_quotes_them()
    {
        var errorDocument = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AuthorizationHeaderMalformed</Code>"
            + $"<Message>bad header from {AccessKey} signed with {SecretKey}</Message><AWSAccessKeyId>{AccessKey}</AWSAccessKeyId>"
            + $"<Resource>/{Bucket}/{Key}</Resource><RequestId>1</RequestId></Error>";
        await using var server = new FakeS3Server(_ => new FakeResponse((int)HttpStatusCode.BadRequest, Encoding.UTF8.GetBytes(errorDocument)));
        using var store = new S3ObjectStore(FakeOptions(server));

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync(Key, "x"u8.ToArray(), Timeout));

        Assert.StartsWith($"S3 put '{Key}' in bucket '{Bucket}' failed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(AccessKey, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SecretKey, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_return_null_when_the_stat_answers_not_found()
    {
        await using var server = new FakeS3Server(request => request.Path.Trim('/') == Bucket ? FakeResponse.Ok() : FakeResponse.NotFound());
        using var store = new S3ObjectStore(FakeOptions(server));

        Assert.Null(await store.GetAsync(Key, Timeout));
        Assert.Null(await store.HeadAsync(Key, Timeout));
    }

    [Fact]
    public async Task Should_wrap_the_failure_when_the_server_cannot_be_reached()
    {
        int closedPort;
        await using (var server = new FakeS3Server(_ => FakeResponse.Ok()))
        {
            closedPort = new Uri(server.Endpoint).Port;
        }

        using var store = new S3ObjectStore(FakeOptions(endpoint: $"http://127.0.0.1:{closedPort.ToString(CultureInfo.InvariantCulture)}"));

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync(Key, "x"u8.ToArray(), Timeout));

        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public async Task Should_throw_operation_canceled_unwrapped_when_the_caller_cancels()
    {
        await using var server = new FakeS3Server(_ => FakeResponse.Ok());
        using var store = new S3ObjectStore(FakeOptions(server));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync(Key, "x"u8.ToArray(), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ListAsync("", continuationToken: null, maxKeys: 1, cancelled.Token));
    }

    [Fact]
    public void Should_reject_the_options_when_path_style_is_disabled()
    {
        var error = Assert.Throws<ArgumentException>(() => new S3ObjectStore(FakeOptions(endpoint: "http://127.0.0.1:9") with { UsePathStyle = false }));

        Assert.Contains("path", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("127.0.0.1:7480")]
    [InlineData("ftp://127.0.0.1:7480")]
    [InlineData("http://127.0.0.1:7480/some/path")]
    [InlineData("http://user:password@127.0.0.1:7480")]
    public void Should_reject_the_endpoint_when_it_is_not_a_bare_http_url(string endpoint)
    {
        var error = Assert.Throws<ArgumentException>(() => new S3ObjectStore(FakeOptions(endpoint: endpoint)));

        Assert.DoesNotContain("password", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("/", "")]
    [InlineData("prod", "prod/")]
    [InlineData("/tenants/a/", "tenants/a/")]
    public void Should_normalize_the_key_prefix_to_end_with_a_slash(string? configured, string expected)
    {
        using var store = new S3ObjectStore(FakeOptions(endpoint: "http://127.0.0.1:9") with { KeyPrefix = configured });

        Assert.Equal(expected, store.KeyPrefix);
    }

    [Fact]
    public void Should_not_print_the_credentials_when_the_options_are_formatted()
    {
        var text = FakeOptions(endpoint: "http://127.0.0.1:9").ToString();

        Assert.DoesNotContain(AccessKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretKey, text, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:9", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_name_both_lengths_when_the_length_check_fails()
    {
        S3ObjectStore.EnsureCompleteBody(Key, expectedLength: 3, receivedLength: 3);

        var error = Assert.Throws<ObjectStoreException>(() => S3ObjectStore.EnsureCompleteBody(Key, expectedLength: 3, receivedLength: 2));

        Assert.Contains("received 2 bytes but the object is 3 bytes", error.Message, StringComparison.Ordinal);
    }

    [S3Fact]
    public async Task Should_throw_partial_content_when_minio_reads_a_range_from_a_real_server()
    {
        // Documents why the store never asks for a range. If this starts failing, the SDK was fixed.
        await _realBucket.EnsureCreatedAsync();
        using var store = _realBucket.OpenStore("range");
        await store.PutAsync("object", "0123456789"u8.ToArray(), Timeout);
        using var client = RealClient();
        using var received = new MemoryStream();

        await Assert.ThrowsAsync<PartialContentException>(() => client.GetObjectAsync(
            new GetObjectArgs().WithBucket(_realBucket.Name).WithObject("range/object").WithOffsetAndLength(2, 3)
                .WithCallbackStream((body, token) => body.CopyToAsync(received, token)),
            Timeout));
    }

    [S3Fact]
    public async Task Should_overwrite_when_minio_put_object_is_given_if_none_match_on_a_real_server()
    {
        // The precondition is lost on the way, so "create only if absent" silently overwrites.
        await _realBucket.EnsureCreatedAsync();
        using var client = RealClient();
        foreach (var content in new[] { "first", "second" })
        {
            using var body = new MemoryStream(Encoding.UTF8.GetBytes(content));
            await client.PutObjectAsync(
                new PutObjectArgs().WithBucket(_realBucket.Name).WithObject("conditional/object").WithStreamData(body).WithObjectSize(body.Length)
                    .WithHeaders(new Dictionary<string, string> { ["If-None-Match"] = "*" }),
                Timeout);
        }

        using var store = _realBucket.OpenStore("conditional");
        Assert.Equal("second"u8.ToArray(), await store.GetAsync("object", Timeout));
    }

    [S3Fact]
    public async Task Should_keep_each_prefix_to_itself_when_two_stores_share_a_bucket()
    {
        await _realBucket.EnsureCreatedAsync();
        using var first = _realBucket.OpenStore("shared/first");
        using var second = _realBucket.OpenStore("shared/first-not");

        await first.PutAsync("k", "1"u8.ToArray(), Timeout);
        await second.PutAsync("k", "2"u8.ToArray(), Timeout);

        Assert.Equal(["k"], (await first.ListAsync("", continuationToken: null, maxKeys: 10, Timeout)).Objects.Select(entry => entry.Key));
        Assert.Equal("1"u8.ToArray(), await first.GetAsync("k", Timeout));
        Assert.Equal("2"u8.ToArray(), await second.GetAsync("k", Timeout));
    }

    [S3Fact]
    public async Task Should_keep_the_listing_open_between_pages_and_release_it_on_the_last_page()
    {
        await _realBucket.EnsureCreatedAsync();
        using var store = _realBucket.OpenStore("cursor");
        foreach (var key in new[] { "a", "b", "c" })
        {
            await store.PutAsync(key, "x"u8.ToArray(), Timeout);
        }

        var first = await store.ListAsync("", continuationToken: null, maxKeys: 2, Timeout);
        Assert.Equal(1, store.ParkedListingCount);
        var last = await store.ListAsync("", first.ContinuationToken, maxKeys: 2, Timeout);

        Assert.Equal(["c"], last.Objects.Select(entry => entry.Key));
        Assert.Null(last.ContinuationToken);
        Assert.Equal(0, store.ParkedListingCount);
    }

    [S3Fact]
    public async Task Should_create_the_bucket_once_and_accept_it_when_it_already_exists()
    {
        var server = S3TestServer.Require();
        var bucket = "streams-test-ensure-" + Guid.NewGuid().ToString("N")[..16];
        using var store = new S3ObjectStore(server.Options(bucket));
        try
        {
            await store.EnsureBucketAsync(Timeout);
            await store.EnsureBucketAsync(Timeout);
            await store.PutAsync("k", "v"u8.ToArray(), Timeout);

            Assert.Equal("v"u8.ToArray(), await store.GetAsync("k", Timeout));
        }
        finally
        {
            await store.DeleteAsync("k", Timeout);
            using var client = RealClient();
            await client.RemoveBucketAsync(new RemoveBucketArgs().WithBucket(bucket), Timeout);
        }
    }

    [S3Fact]
    public async Task Should_say_the_bucket_is_missing_when_it_was_never_created()
    {
        using var store = new S3ObjectStore(S3TestServer.Require().Options("streams-test-missing-" + Guid.NewGuid().ToString("N")[..16]));

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetAsync("k", Timeout));

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [S3Fact]
    public async Task Should_fail_without_revealing_the_secret_when_the_credentials_are_wrong()
    {
        await _realBucket.EnsureCreatedAsync();
        const string wrongSecret = "wrong-secret-0123456789";
        using var store = new S3ObjectStore(S3TestServer.Require().Options(_realBucket.Name) with { SecretKey = wrongSecret });

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", "v"u8.ToArray(), Timeout));

        Assert.DoesNotContain(wrongSecret, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(S3TestServer.Require().AccessKey, error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Serves one object of <see cref="ObjectSize"/> bytes: bucket and object stats succeed, GET answers as given.</summary>
    private static Func<FakeRequest, FakeResponse> ObjectServer(FakeResponse getReply) => request =>
        (request.Method, request.Path.Trim('/')) switch
        {
            ("HEAD", Bucket) => FakeResponse.Ok(),
            ("HEAD", $"{Bucket}/{Key}") => FakeResponse.Ok(declaredLength: ObjectSize),
            ("GET", $"{Bucket}/{Key}") => getReply,
            _ => FakeResponse.NotFound(),
        };

    private static S3ObjectStoreOptions FakeOptions(FakeS3Server server) => FakeOptions(server.Endpoint);

    private static S3ObjectStoreOptions FakeOptions(string endpoint) => new()
    {
        Endpoint = endpoint,
        Bucket = Bucket,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
    };

    private static IMinioClient FakeClient(FakeS3Server server)
    {
        var endpoint = new Uri(server.Endpoint);
        return new MinioClient().WithEndpoint(endpoint.Host, endpoint.Port).WithRegion(S3ObjectStoreOptions.DefaultRegion)
            .WithCredentials(AccessKey, SecretKey).Build();
    }

    private static IMinioClient RealClient()
    {
        var server = S3TestServer.Require();
        var endpoint = new Uri(server.Endpoint);
        return new MinioClient().WithEndpoint(endpoint.Host, endpoint.Port).WithRegion(server.Region)
            .WithCredentials(server.AccessKey, server.SecretKey).Build();
    }
}
