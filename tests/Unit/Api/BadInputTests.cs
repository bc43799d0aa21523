using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// What a hostile or buggy client sends: each case must get a 4xx JSON error — never a 500, never
/// a hang — and leave the stream's data as it was. Each test hosts the real application
/// (WebApplicationFactory) on its own data directory; one test runs a family of cases and reports
/// every case that misbehaves at once.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private const int MaxAppendBytes = 1024 * 1024;
    private const int MaxAppendMessages = 100_000;
    private const int JsonMaxDepth = 256;

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-bad-input-{Guid.NewGuid():N}");
    private WebApplicationFactory<Program> factory = null!;
    private HttpClient client = null!;

    public Task InitializeAsync()
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            host.UseSetting("Streams:DataDir", dataDirectory);
            host.UseSetting("Streams:LongPollTimeoutMs", "300");
            host.UseSetting("Streams:MaxAppendBytes", MaxAppendBytes.ToString(CultureInfo.InvariantCulture));
        });
        client = factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await factory.DisposeAsync();
        if (Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    public static TheoryData<string> MalformedOffsets => new()
    {
        "offset=",
        "offset=-1&offset=-1",
        "offset=0,1",
        "offset=0%201",
        "offset=%00",
        "offset=../",
        "offset=..%2F..%2Fetc",
        "offset=-2",
        "offset=NOW",
        "offset=0000000000000000-0000000000000000",
        "offset=%2B000000000000000_0000000000000000",
        "offset=0000000000000000_000000000000000",
        "offset=0000000000000000_0000000000000000%0A",
        "offset=" + new string('1', 5000),
        "offset=0000000000000000_0000000000000000&live=long-poll&offset=now",
    };

    [Theory]
    [MemberData(nameof(MalformedOffsets))]
    public async Task Should_answer_400_invalid_offset_when_the_offset_is_malformed(string query)
    {
        await CreateAsync("s", "text/plain", "data");

        using var response = await client.GetAsync($"/v1/stream/s?{query}");

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "invalid_offset");
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("")]
    [InlineData("LONG-POLL")]
    [InlineData("long-poll&live=sse")]
    [InlineData("sse%00")]
    public async Task Should_answer_400_when_live_is_not_a_known_mode(string live)
    {
        await CreateAsync("s", "text/plain", "data");

        using var response = await client.GetAsync($"/v1/stream/s?offset=now&live={live}");

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"got {(int)response.StatusCode}: {body}");
        Assert.NotNull(JsonErrorAssert.CodeOf(body));
        Assert.Contains("live", body, StringComparison.Ordinal);
    }

    public static TheoryData<string[], string[], string[]> MalformedProducers => new()
    {
        { ["p"], ["0"], [] },
        { [], [], ["0"] },
        { ["p", "q"], ["0"], ["0"] },
        { [""], ["0"], ["0"] },
        { ["p"], ["0", "0"], ["0"] },
        { ["p"], ["0"], ["0,1"] },
        { ["p"], ["abc"], ["0"] },
        { ["p"], ["-1"], ["0"] },
        { ["p"], ["1e3"], ["0"] },
        { ["p"], ["+1"], ["0"] },
        { ["p"], ["0x10"], ["0"] },
        { ["p"], ["1.0"], ["0"] },
        { ["p"], [""], ["0"] },
        { ["p"], ["99999999999999999999"], ["0"] },
        { ["p"], ["9007199254740992"], ["0"] },
        { ["p"], ["0"], ["-1"] },
        { ["p"], ["0"], ["9223372036854775808"] },
    };

    [Theory]
    [MemberData(nameof(MalformedProducers))]
    public async Task Should_answer_400_invalid_header_and_append_nothing_when_producer_headers_are_malformed(string[] id, string[] epoch, string[] seq)
    {
        var tail = await CreateAsync("s", "text/plain", "data");
        using var request = Append("s", "text/plain", "more");
        AddHeader(request, "Producer-Id", id);
        AddHeader(request, "Producer-Epoch", epoch);
        AddHeader(request, "Producer-Seq", seq);

        using var response = await client.SendAsync(request);

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "invalid_header");
        Assert.Equal(tail, await TailAsync("s"));
    }

    [Fact]
    public async Task Should_accept_the_largest_json_safe_producer_epoch()
    {
        await CreateAsync("s", "text/plain", string.Empty);
        using var request = Append("s", "text/plain", "x");
        request.Headers.Add("Producer-Id", "p");
        request.Headers.Add("Producer-Epoch", "9007199254740991");
        request.Headers.Add("Producer-Seq", "0");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("9007199254740991", Assert.Single(response.Headers.GetValues("Producer-Epoch")));
    }

    public static TheoryData<byte[]> InvalidUtf8Json => new()
    {
        Bytes("{\"a\":\""u8, [0xFF, 0xFE], "\"}"u8),
        Bytes("\""u8, [0xED, 0xA0, 0x80], "\""u8),
        Bytes("\""u8, [0xC0, 0xAF], "\""u8),
        Bytes("[\""u8, [0xE2, 0x82], "\"]"u8),
        Bytes("{\""u8, [0x80], "\":1}"u8),
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Json))]
    public async Task Should_answer_400_invalid_json_and_append_nothing_when_a_json_body_is_not_utf8(byte[] body)
    {
        var tail = await CreateAsync("j", "application/json", string.Empty);

        using var response = await client.SendAsync(Append("j", "application/json", body));

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal(tail, await TailAsync("j"));
    }

    [Theory]
    [InlineData("{} {}")]
    [InlineData("   ")]
    [InlineData("[1,2,]")]
    [InlineData("{\"a\":1 /* comment */}")]
    [InlineData("\uFEFF{}")]
    [InlineData("[1")]
    public async Task Should_answer_400_invalid_json_when_a_json_body_is_malformed(string body)
    {
        var tail = await CreateAsync("j", "application/json", string.Empty);

        using var response = await client.SendAsync(Append("j", "application/json", Encoding.UTF8.GetBytes(body)));

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal(tail, await TailAsync("j"));
    }

    [Fact]
    public async Task Should_answer_400_invalid_json_when_json_nests_deeper_than_the_limit()
    {
        var tail = await CreateAsync("j", "application/json", string.Empty);

        using var response = await client.SendAsync(Append("j", "application/json", Nested(JsonMaxDepth + 1)));

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Contains("depth", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(tail, await TailAsync("j"));
    }

    [Fact]
    public async Task Should_store_json_nested_exactly_to_the_limit_and_return_it_unchanged()
    {
        await CreateAsync("j", "application/json", string.Empty);
        // As a single message (an object at the root), so flattening does not remove a level.
        var body = Encoding.UTF8.GetBytes($"{{\"a\":{Encoding.UTF8.GetString(Nested(JsonMaxDepth - 1))}}}");

        using var appended = await client.SendAsync(Append("j", "application/json", body));
        using var read = await client.GetAsync("/v1/stream/j?offset=-1");

        Assert.Equal(HttpStatusCode.NoContent, appended.StatusCode);
        byte[] expected = [(byte)'[', .. body, (byte)']'];
        Assert.Equal(expected, await read.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Should_keep_every_json_message_byte_for_byte_as_sent()
    {
        await CreateAsync("j", "application/json", string.Empty);
        var body = "[ {\"a\" : 1,\"a\":2} ,\t\"caf\u00e9 \\u00e9 \\ud83d\\ude00\" , [ 1 , 2 ] , -0.5e+3 ]";

        using var appended = await client.SendAsync(Append("j", "application/json", Encoding.UTF8.GetBytes(body)));
        using var read = await client.GetAsync("/v1/stream/j?offset=-1");

        Assert.Equal(HttpStatusCode.NoContent, appended.StatusCode);
        Assert.Equal("0000000000000000_0000000000000004", Assert.Single(appended.Headers.GetValues("Stream-Next-Offset")));
        Assert.Equal(
            "[{\"a\" : 1,\"a\":2},\"caf\u00e9 \\u00e9 \\ud83d\\ude00\",[ 1 , 2 ],-0.5e+3]",
            Encoding.UTF8.GetString(await read.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task Should_answer_413_and_append_nothing_when_a_json_array_holds_too_many_messages()
    {
        var tail = await CreateAsync("j", "application/json", string.Empty);
        var body = "[" + string.Join(',', Enumerable.Repeat("0", MaxAppendMessages + 1)) + "]";

        using var response = await client.SendAsync(Append("j", "application/json", Encoding.ASCII.GetBytes(body)));

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.Equal(tail, await TailAsync("j"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_answer_413_and_append_nothing_when_a_body_exceeds_max_append_bytes(bool declareLength)
    {
        var tail = await CreateAsync("s", "application/octet-stream", string.Empty);
        var tenMebibytes = new byte[10 * 1024 * 1024];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/stream/s")
        {
            // Without a declared length the body arrives chunked and the limit is met while reading.
            Content = declareLength ? new ByteArrayContent(tenMebibytes) : new StreamContent(new UnknownLengthStream(tenMebibytes)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await client.SendAsync(request);

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.Equal(tail, await TailAsync("s"));
    }

    [Fact]
    public async Task Should_answer_413_and_create_nothing_when_a_put_body_exceeds_max_append_bytes()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/v1/stream/big")
        {
            Content = new ByteArrayContent(new byte[MaxAppendBytes + 1]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await client.SendAsync(request);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/stream/big"));

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    public static TheoryData<string> MalformedNameTargets => new()
    {
        "/v1/stream/..",
        "/v1/stream/a/../b",
        "/v1/stream/a/./b",
        "/v1/stream/%2E%2E",
        "/v1/stream/a%2F%2e%2e%2Fb",
        "/v1/stream/a%00b",
        "/v1/stream/a%01b",
        "/v1/stream/a%0Ab",
        "/v1/stream/a%7Fb",
        "/v1/stream/a%C2%85b",
        "/v1/stream/a%ZZ",
        "/v1/stream/a%2",
        "/v1/stream/%",
        "/v1/stream/%C0%AF",
        "/v1/stream/%ED%A0%80",
        "/v1/stream/%FF",
        "/v1/stream/%E2%82",
        "/v1/stream/",
        "/v1/stream/" + new string('n', 2000),
        "/v1/stream/" + string.Concat(Enumerable.Repeat("%C3%A9", 600)),
    };

    [Theory]
    [MemberData(nameof(MalformedNameTargets))]
    public async Task Should_answer_400_invalid_stream_name_and_create_nothing_when_the_name_is_malformed(string rawTarget)
    {
        var (status, body) = await SendRawTargetAsync(HttpMethods.Put, rawTarget);

        Assert.True(status == StatusCodes.Status400BadRequest, $"{rawTarget}: got {status} {body}");
        JsonErrorAssert.Is(body, "invalid_stream_name");
        Assert.Empty(await ExistingStreamNamesAsync());
    }

    [Theory]
    [InlineData("/v1/stream/a%2Fb", "a/b")]
    [InlineData("/v1/stream/caf%C3%A9", "caf\u00e9")]
    [InlineData("/v1/stream/a%25ZZ", "a%ZZ")]
    [InlineData("/v1/stream/a..b/.c", "a..b/.c")]
    [InlineData("/v1/stream/a%F0%9F%98%80b", "a\U0001F600b")]
    [InlineData("/v1/stream/%F0%A0%80%80/%F0%9F%98%80%F0%9F%98%80", "\U00020000/\U0001F600\U0001F600")]
    [InlineData("/v1/stream/%F0%9F%98%80", "\U0001F600")]
    public async Task Should_accept_names_that_are_correctly_encoded(string rawTarget, string name)
    {
        var (status, body) = await SendRawTargetAsync(HttpMethods.Put, rawTarget);

        Assert.True(status == StatusCodes.Status201Created, $"{rawTarget}: got {status} {body}");
        Assert.Equal(new[] { name }, await ExistingStreamNamesAsync());
    }

    [Fact]
    public async Task Should_name_the_same_stream_with_an_escaped_and_a_plain_slash_through_a_client()
    {
        await CreateAsync("a%2Fb", "text/plain", "data");

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/stream/a/b"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(new[] { "a/b" }, await ExistingStreamNamesAsync());
    }

    [Theory]
    [InlineData("/v1/stream/a%ZZ")]
    [InlineData("/v1/stream/%C0%AF")]
    [InlineData("/v1/stream/..")]
    [InlineData("/v1/stream/a%00")]
    [InlineData("/elsewhere/a")]
    public async Task Should_answer_400_and_create_nothing_when_the_fork_source_is_malformed(string source)
    {
        await CreateAsync("a", "text/plain", "data");
        using var fork = new HttpRequestMessage(HttpMethod.Put, "/v1/stream/fork") { Content = new ByteArrayContent([]) };
        fork.Headers.TryAddWithoutValidation("Stream-Forked-From", source);

        using var response = await client.SendAsync(fork);

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.BadRequest, "invalid_header");
        Assert.Equal(new[] { "a" }, await ExistingStreamNamesAsync());
    }

    [Fact]
    public async Task Should_apply_the_json_rules_and_limits_to_the_initial_body_of_a_fork()
    {
        await CreateAsync("j", "application/json", "[1]");
        var tooMany = Encoding.ASCII.GetBytes("[" + string.Join(',', Enumerable.Repeat("0", MaxAppendMessages + 1)) + "]");

        using var invalid = await client.SendAsync(Fork("j", "fork-1", Bytes("\""u8, [0xFF], "\""u8)));
        using var tooLarge = await client.SendAsync(Fork("j", "fork-2", tooMany));
        using var badType = await client.SendAsync(Fork("j", "fork-3", "[2]"u8.ToArray(), contentType: "not a type"));

        await JsonErrorAssert.IsAsync(invalid, HttpStatusCode.BadRequest, "invalid_json");
        await JsonErrorAssert.IsAsync(tooLarge, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        await JsonErrorAssert.IsAsync(badType, HttpStatusCode.BadRequest, "invalid_header");
        Assert.Equal(new[] { "j" }, await ExistingStreamNamesAsync());
    }

    [Theory]
    [InlineData("PATCH")]
    [InlineData("TRACE")]
    [InlineData("BREW")]
    [InlineData("CONNECT")]
    public async Task Should_answer_405_with_allow_when_the_method_is_not_part_of_the_protocol(string method)
    {
        await CreateAsync("s", "text/plain", "data");

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/v1/stream/s"));

        await JsonErrorAssert.IsAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Contains("POST", response.Content.Headers.Allow);
        Assert.Contains("GET", response.Content.Headers.Allow);
    }

    [Fact]
    public async Task Should_answer_404_when_head_or_delete_name_an_unknown_stream()
    {
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/stream/nope"));
        using var delete = await client.DeleteAsync("/v1/stream/nope");

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        await JsonErrorAssert.IsAsync(delete, HttpStatusCode.NotFound, "stream_not_found");
    }

    [Fact]
    public async Task Should_answer_health_probes_with_get_and_head_and_other_methods_with_404()
    {
        using var get = await client.GetAsync("/health");
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"));
        using var post = await client.PostAsync("/health", new ByteArrayContent([]));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        await JsonErrorAssert.IsAsync(post, HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData("9223372036854775")]
    [InlineData("999999999999999999")]
    public async Task Should_keep_a_stream_with_a_huge_ttl(string ttl)
    {
        using var create = new HttpRequestMessage(HttpMethod.Put, "/v1/stream/t") { Content = new ByteArrayContent("x"u8.ToArray()) };
        create.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        create.Headers.Add("Stream-TTL", ttl);

        using var created = await client.SendAsync(create);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/stream/t"));
        using var read = await client.GetAsync("/v1/stream/t");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(ttl, Assert.Single(head.Headers.GetValues("Stream-TTL")));
        Assert.Equal("x", await read.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("9223372036854775807")]
    [InlineData("9223372036854775000")]
    [InlineData("99999999999999999999999")]
    [InlineData("-5")]
    [InlineData("abc")]
    public async Task Should_answer_a_numeric_cursor_whatever_cursor_the_client_echoes(string cursor)
    {
        var tail = await CreateAsync("s", "text/plain", "data");

        using var response = await client.GetAsync($"/v1/stream/s?offset={tail}&live=long-poll&cursor={cursor}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Matches(new Regex("^[0-9]+$"), Assert.Single(response.Headers.GetValues("Stream-Cursor")));
    }

    [Theory]
    [InlineData("not a type")]
    [InlineData(";;;")]
    [InlineData("text/")]
    [InlineData("text")]
    public async Task Should_answer_400_invalid_header_when_the_content_type_is_not_a_media_type(string contentType)
    {
        var tail = await CreateAsync("s", "text/plain", "data");
        using var create = new HttpRequestMessage(HttpMethod.Put, "/v1/stream/other") { Content = new ByteArrayContent([]) };
        create.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var append = new HttpRequestMessage(HttpMethod.Post, "/v1/stream/s") { Content = new ByteArrayContent("x"u8.ToArray()) };
        append.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var created = await client.SendAsync(create);
        using var appended = await client.SendAsync(append);

        await JsonErrorAssert.IsAsync(created, HttpStatusCode.BadRequest, "invalid_header");
        await JsonErrorAssert.IsAsync(appended, HttpStatusCode.BadRequest, "invalid_header");
        Assert.Equal(tail, await TailAsync("s"));
        Assert.Equal(new[] { "s" }, await ExistingStreamNamesAsync());
    }

    [Fact]
    public async Task Should_ignore_the_content_type_of_a_close_only_append()
    {
        await CreateAsync("s", "text/plain", "data");
        using var close = new HttpRequestMessage(HttpMethod.Post, "/v1/stream/s") { Content = new ByteArrayContent([]) };
        close.Content.Headers.TryAddWithoutValidation("Content-Type", "not a type");
        close.Headers.Add("Stream-Closed", "true");

        using var response = await client.SendAsync(close);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Stream-Closed")));
    }

    private async Task<string> CreateAsync(string name, string contentType, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/stream/{name}") { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return Assert.Single(response.Headers.GetValues("Stream-Next-Offset"));
    }

    private async Task<string> TailAsync(string name)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/stream/{name}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Assert.Single(response.Headers.GetValues("Stream-Next-Offset"));
    }

    private static HttpRequestMessage Append(string name, string contentType, string body) =>
        Append(name, contentType, Encoding.UTF8.GetBytes(body));

    private static HttpRequestMessage Append(string name, string contentType, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/stream/{name}") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return request;
    }

    private static HttpRequestMessage Fork(string source, string name, byte[] body, string? contentType = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/stream/{name}") { Content = new ByteArrayContent(body) };
        request.Headers.Add("Stream-Forked-From", $"/v1/stream/{source}");
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        return request;
    }

    private static void AddHeader(HttpRequestMessage request, string name, string[] values)
    {
        if (values.Length > 0)
        {
            request.Headers.TryAddWithoutValidation(name, values);
        }
    }

    /// <summary>
    /// Sends a request whose raw target is exactly <paramref name="rawTarget"/>, as Kestrel would pass
    /// it on; an HttpClient would normalise the escapes first. The endpoint reads the stream name
    /// from the raw target, so the routing path is only a placeholder.
    /// </summary>
    private async Task<(int Status, string Body)> SendRawTargetAsync(string method, string rawTarget)
    {
        var context = await factory.Server.SendAsync(http =>
        {
            http.Request.Method = method;
            http.Request.Path = "/v1/stream/placeholder";
            http.Features.Get<IHttpRequestFeature>()!.RawTarget = rawTarget;
        });
        using var reader = new StreamReader(context.Response.Body);
        return (context.Response.StatusCode, await reader.ReadToEndAsync());
    }

    /// <summary>The streams that exist, straight from the index (the protocol has no listing).</summary>
    private async Task<IReadOnlyList<string>> ExistingStreamNamesAsync()
    {
        var database = (Streams.Actors.Storage.StreamDatabase)factory.Services.GetService(typeof(Streams.Actors.Storage.StreamDatabase))!;
        return await Task.Run(() => database.ListStreamNames(after: null, limit: 100));
    }

    private static byte[] Nested(int depth) =>
        Encoding.ASCII.GetBytes(new string('[', depth) + new string(']', depth));

    private static byte[] Bytes(ReadOnlySpan<byte> prefix, byte[] middle, ReadOnlySpan<byte> suffix) =>
        [.. prefix, .. middle, .. suffix];

    /// <summary>A body whose length the client cannot know up front, so it is sent chunked.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
