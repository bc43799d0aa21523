using Xunit;
using static Streams.Tests.Unit.Api.StreamClient;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// One row of the status-code table: the request (after its arrangement), the status it must get,
/// the error code of its JSON body, and response headers that must be present (a null value: any).
/// </summary>
internal sealed record StatusRow(
    int Status,
    Func<StreamClient, Task<HttpResponseMessage>> Send,
    string? ErrorCode = null,
    (string Name, string? Value)[]? Headers = null,
    Action<StreamClient, HttpResponseMessage>? Check = null);

/// <summary>The protocol's status-code table (PUT, POST, GET, HEAD, DELETE and the rest), row by row.</summary>
internal static class StatusTable
{
    private const string FirstOffset = "0000000000000000_0000000000000001";
    private const string InvalidHeader = "invalid_header";
    private const string InvalidOffset = "invalid_offset";

    public static readonly IReadOnlyDictionary<string, StatusRow> Rows = new Dictionary<string, StatusRow>
    {
        // ---- PUT ----
        ["put-new-stream"] = new(201, s => s.Put(), Headers: [("Stream-Next-Offset", "0000000000000000_0000000000000000")], Check: (s, r) =>
        {
            Assert.Equal(PlainText, r.Content.Headers.ContentType?.ToString());
            var location = r.Headers.Location?.ToString() ?? string.Empty;
            Assert.StartsWith("http", location, StringComparison.Ordinal);
            Assert.EndsWith(s.Path, location, StringComparison.Ordinal);
        }),
        ["put-same-config"] = new(200, async s =>
        {
            await s.CreateAsync();
            return await s.Put();
        }),
        ["put-other-content-type"] = new(409, async s =>
        {
            await s.CreateAsync();
            return await s.Put(Json);
        }, "stream_config_mismatch"),
        ["put-ttl-letters"] = new(400, s => s.Put(headers: ("Stream-TTL", "abc")), InvalidHeader),
        ["put-ttl-negative"] = new(400, s => s.Put(headers: ("Stream-TTL", "-1")), InvalidHeader),
        ["put-ttl-leading-zeros"] = new(400, s => s.Put(headers: ("Stream-TTL", "00060")), InvalidHeader),
        ["put-ttl-plus-sign"] = new(400, s => s.Put(headers: ("Stream-TTL", "+60")), InvalidHeader),
        ["put-ttl-fraction"] = new(400, s => s.Put(headers: ("Stream-TTL", "60.5")), InvalidHeader),
        ["put-ttl-exponent"] = new(400, s => s.Put(headers: ("Stream-TTL", "1e3")), InvalidHeader),
        ["put-expires-at-malformed"] = new(400, s => s.Put(headers: ("Stream-Expires-At", "not-a-timestamp")), InvalidHeader),
        ["put-ttl-and-expires-at"] = new(400, s => s.Put(headers: [("Stream-TTL", "60"), ("Stream-Expires-At", "2099-01-01T00:00:00Z")]), InvalidHeader),
        ["put-invalid-json"] = new(400, s => s.Put(Json, "{\"a\":"), "invalid_json"),

        // ---- POST ----
        ["post-append"] = new(204, async s =>
        {
            await s.CreateAsync();
            return await s.Post("hello");
        }, Headers: [("Stream-Next-Offset", FirstOffset)]),
        ["post-producer-accepted"] = new(200, async s =>
        {
            await s.CreateAsync();
            return await s.Post("a", PlainText, Producer("p", 0, 0));
        }, Headers: [("Producer-Epoch", "0"), ("Producer-Seq", "0"), ("Stream-Next-Offset", FirstOffset)]),
        ["post-producer-duplicate"] = new(204, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("a", PlainText, Producer("p", 0, 0));
            await s.AppendAsync("b", PlainText, Producer("p", 0, 1));
            return await s.Post("a", PlainText, Producer("p", 0, 0));
        }, Headers: [("Producer-Epoch", "0"), ("Producer-Seq", "1")]),
        ["post-empty-body"] = new(400, async s =>
        {
            await s.CreateAsync();
            return await s.Post(string.Empty);
        }, "empty_body"),
        ["post-missing-content-type"] = new(400, async s =>
        {
            await s.CreateAsync();
            return await s.Post("hello", contentType: null);
        }, InvalidHeader),
        ["post-invalid-json"] = new(400, async s =>
        {
            await s.CreateAsync(Json);
            return await s.Post("{\"a\":", Json);
        }, "invalid_json"),
        ["post-empty-json-array"] = new(400, async s =>
        {
            await s.CreateAsync(Json);
            return await s.Post("[]", Json);
        }, "empty_json_array"),
        ["post-partial-producer-headers"] = new(400, async s =>
        {
            await s.CreateAsync();
            return await s.Post("a", PlainText, ("Producer-Id", "p"), ("Producer-Seq", "0"));
        }, InvalidHeader),
        ["post-stale-producer-epoch"] = new(403, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("a", PlainText, Producer("p", 1, 0));
            return await s.Post("b", PlainText, Producer("p", 0, 1));
        }, "producer_epoch_stale", [("Producer-Epoch", "1")]),
        ["post-producer-seq-gap"] = new(409, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("a", PlainText, Producer("p", 0, 0));
            return await s.Post("b", PlainText, Producer("p", 0, 5));
        }, "producer_seq_gap", [("Producer-Expected-Seq", "1"), ("Producer-Received-Seq", "5")]),
        ["post-new-epoch-seq-not-zero"] = new(400, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("a", PlainText, Producer("p", 0, 0));
            return await s.Post("b", PlainText, Producer("p", 1, 1));
        }, "producer_epoch_requires_seq_zero"),
        ["post-missing-stream"] = new(404, s => s.Post("hello"), "stream_not_found"),
        ["post-closed-stream"] = new(409, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("last");
            await s.CloseAsync();
            return await s.Post("late");
        }, "stream_closed", [("Stream-Closed", "true"), ("Stream-Next-Offset", FirstOffset)]),
        ["post-content-type-mismatch"] = new(409, async s =>
        {
            await s.CreateAsync();
            return await s.Post("{}", Json);
        }, "content_type_mismatch"),
        ["post-stream-seq-regression"] = new(409, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("a", PlainText, ("Stream-Seq", "2"));
            return await s.Post("b", PlainText, ("Stream-Seq", "10"));
        }, "stream_seq_regression"),
        ["post-oversized-body"] = new(413, async s =>
        {
            await s.CreateAsync();
            return await s.PostBytes(new byte[ApiHost.MaxAppendBytes + 1], PlainText);
        }, "payload_too_large"),
        ["post-close-only"] = new(204, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("last");
            return await s.Post(body: null, contentType: null, ("Stream-Closed", "true"));
        }, Headers: [("Stream-Closed", "true"), ("Stream-Next-Offset", FirstOffset)]),
        ["post-close-only-again"] = new(204, async s =>
        {
            await s.CreateAsync();
            await s.CloseAsync();
            return await s.Post(body: null, contentType: null, ("Stream-Closed", "true"));
        }, Headers: [("Stream-Closed", "true")]),

        // ---- GET ----
        ["get-catch-up"] = new(200, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("hello");
            return await s.Get("?offset=-1");
        }, Headers: [("Stream-Next-Offset", FirstOffset), ("Stream-Up-To-Date", "true"), ("ETag", null)]),
        ["get-offset-empty"] = new(400, Created(s => s.Get("?offset=")), InvalidOffset),
        ["get-offset-repeated"] = new(400, Created(s => s.Get("?offset=-1&offset=-1")), InvalidOffset),
        ["get-offset-comma"] = new(400, Created(s => s.Get("?offset=0,1")), InvalidOffset),
        ["get-offset-letters"] = new(400, Created(s => s.Get("?offset=abc")), InvalidOffset),
        ["get-offset-traversal"] = new(400, Created(s => s.Get("?offset=../x")), InvalidOffset),
        ["get-missing-stream"] = new(404, s => s.Get(), "stream_not_found"),
        ["get-if-none-match"] = new(304, async s =>
        {
            await s.CreateAsync();
            await s.AppendAsync("hello");
            using var first = await s.Get("?offset=-1");
            var etag = first.Headers.ETag?.ToString() ?? throw new InvalidOperationException("no ETag on the first read");
            return await s.Get("?offset=-1", ("If-None-Match", etag));
        }),
        ["get-live-without-offset"] = new(400, Created(s => s.Get("?live=long-poll")), InvalidOffset),
        ["get-live-unknown-mode"] = new(400, Created(s => s.Get("?offset=-1&live=forever")), InvalidHeader),
        ["get-long-poll-timeout"] = new(204, Created(s => s.Get("?offset=now&live=long-poll")), Headers:
            [("Stream-Up-To-Date", "true"), ("Stream-Cursor", null), ("Stream-Next-Offset", "0000000000000000_0000000000000000")]),

        // ---- HEAD ----
        ["head-describes"] = new(200, async s =>
        {
            await s.CreateAsync(PlainText, "hello", ("Stream-TTL", "3600"));
            return await s.Head();
        }, Headers: [("Stream-Next-Offset", FirstOffset), ("Stream-TTL", "3600"), ("Cache-Control", "no-store")], Check: (_, r) =>
            Assert.Equal(PlainText, r.Content.Headers.ContentType?.ToString())),
        ["head-missing-stream"] = new(404, s => s.Head()),

        // ---- DELETE ----
        ["delete-stream"] = new(204, Created(s => s.Delete())),
        ["delete-missing-stream"] = new(404, s => s.Delete(), "stream_not_found"),

        // ---- everything else ----
        ["patch-not-allowed"] = new(405, Created(s => s.Send(HttpMethod.Patch)), "method_not_allowed", Check: (_, r) =>
            Assert.Contains("GET", r.Content.Headers.Allow)),
        ["no-stream-name"] = new(400, s => s.SendTo(HttpMethod.Get, "/v1/stream/"), "invalid_stream_name"),
        ["unknown-route"] = new(404, s => s.SendTo(HttpMethod.Get, "/v2/elsewhere"), "not_found"),
        ["unknown-route-post"] = new(404, s => s.SendTo(HttpMethod.Post, "/v2/elsewhere"), "not_found"),
        ["cors-preflight"] = new(204, s => s.Send(HttpMethod.Options, headers:
            [("Origin", "https://example.com"), ("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "if-none-match")]), Check: (_, r) =>
            Assert.Contains("if-none-match", string.Join(",", r.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase)),
    };

    /// <summary>Creates the stream (text/plain, empty) first.</summary>
    private static Func<StreamClient, Task<HttpResponseMessage>> Created(Func<StreamClient, Task<HttpResponseMessage>> send) =>
        async s =>
        {
            await s.CreateAsync();
            return await send(s);
        };
}
