using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Streams.Tests.Fuzz;

/// <summary>
/// Generators of hostile requests: names, offsets, headers, bodies and methods at and beyond every
/// boundary the server checks. Writes never name a canary stream (their names are not in the pool
/// and no encoding of a pool name decodes to one), so the canaries change only through the
/// suite's own acknowledged appends.
/// </summary>
internal static class HostileGenerators
{
    public const string CanaryPrefix = "canary-";

    /// <summary>The name limit is 1024 UTF-8 bytes: names just under, at and over it.</summary>
    private const int NameLimitBytes = 1024;

    private static readonly string[] BaseNames =
    [
        "fz", "fz-plain", "fz/nested/name", "fz-a\U0001F600b", "fz-e\u0301\u0301-combining", "fz-\0-nul", "fz-\u202E-rtl",
        "fz-\uFEFF-bom", ".", "..", "fz/../x", "fz/./x", "", "/", "fz//double", "fz-%2F-literal", "fz-sp ace", "fz-\t-tab",
        "fz-\u00FF-latin", "fz-\uD800-lone-surrogate", "fz/_details", "fz-x/_details", "_details", "fz-?-question", "fz-#-hash",
        "fz-\u200B-zero-width", "fz-\u0000\u0001\u001F-controls", "fz-" + new string('n', NameLimitBytes - 3), "fz-" + new string('n', NameLimitBytes - 2),
        "fz-" + new string('\u00E9', NameLimitBytes / 2), "fz-" + string.Concat(Enumerable.Repeat("\U0001F600", 300)),
    ];

    private static readonly string[] Offsets =
    [
        "-1", "now", "", "0", "-2", "00000000000000000000000000", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "9999999999999999999999",
        "%00", "1e9", "-1&offset=now", "0000000000000000000000000", "000000000000000000000000000", "-1%00", "NOW", "%E2%82%AC",
        new string('7', 5000), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01234567890123456789012345",
    ];

    private static readonly string[] LiveModes = ["long-poll", "sse", "bogus", "", "LONG-POLL", "sse&live=long-poll"];

    private static readonly string[] Numbers =
    [
        "0", "1", "-1", "00", "01", "9007199254740991", "9007199254740992", "18446744073709551616", "1.0", "1e3", "", " 1", "+1", "0x10",
        "99999999999999999999999999999999999999",
    ];

    private static readonly (string Name, string[] Values)[] HeaderPool =
    [
        ("Content-Type", ["text/plain", "application/json", "application/octet-stream", "application/json; charset=utf-16", "", "a/b/c", "text/plain;;;", "*/*", "application/JSON", "x", new string('a', 3000) + "/b"]),
        ("Stream-Seq", ["", "a", "zzzz", "0", new string('s', 5000), "\u00e9"]),
        ("Stream-TTL", ["-1", "0", "1", "abc", "99999999999999999999", "1.5", "1e3", "3600"]),
        ("Stream-Expires-At", ["2000-01-01T00:00:00Z", "not a date", "9999-12-31T23:59:59Z", "-1", "0", "2100-01-01T00:00:00+25:00"]),
        ("Stream-Closed", ["true", "TRUE", "false", "yes", ""]),
        ("Producer-Id", ["p", "", new string('p', 5000)]),
        ("Producer-Epoch", Numbers),
        ("Producer-Seq", Numbers),
        ("If-None-Match", ["*", "\"x\"", "garbage", "W/\"1\""]),
        ("Stream-Forked-From", ["/v1/stream/canary-bytes", "garbage", "http://elsewhere.invalid/v1/stream/fz", "/v1/stream/%00", "/v1/stream/", "/v1/stream/fz-missing"]),
        ("Stream-Fork-Offset", ["-1", "now", "garbage", "00000000000000000000000000"]),
        ("Stream-Fork-Sub-Offset", Numbers),
        ("Range", ["bytes=0-1", "bytes=-1", "garbage"]),
        ("Origin", ["https://evil.example", "null", ""]),
        ("Accept", ["text/event-stream", "*/*", "application/json"]),
        ("Expect", ["100-continue"]),
    ];

    private static readonly string[] SafeMethods = ["GET", "HEAD", "OPTIONS"];
    private static readonly string[] WriteMethods = ["PUT", "POST", "DELETE", "PATCH", "PROPFIND", "post", "TRACE"];

    private static readonly string[] OtherPaths =
    [
        "/v1/streams", "/v1/streams?limit=0", "/v1/streams?limit=1001", "/v1/streams?limit=-1", "/v1/streams?limit=abc",
        "/v1/streams?after=%00", "/v1/streams?after=" + new string('z', 3000), "/metrics", "/health", "/ready", "/", "/v1/stream",
        "/v1/stream/", "//v1/stream/fz", "/v1/STREAM/fz", "/v1/stream/fz%", "/v1/stream/fz%Z1", "/v1/stream/fz%C3%28",
        "/v1/stream/fz%F0%9F", "/v1/stream/fz%2e%2e", "/v1/stream/%2E%2E/x", "/.well-known/x", "/v1/stream/fz?offset=-1&offset=now",
    ];

    private static readonly string[] RawFramings = ["length", "chunked-bad", "both", "length-short", "length-bogus", "lf-only", "fold", "nul-path", "utf8-path", "long-line", "huge-headers", "bad-header-name", "latin1-header", "absolute-form", "asterisk"];

    public static Gen<HostileRequest> Request(string key) =>
        Gen.Frequency(
            (85, ClientRequest(key)),
            (15, RawRequest(key)));

    private static Gen<HostileRequest> ClientRequest(string key) =>
        from write in Gen.Frequency((1, Gen.Constant(false)), (1, Gen.Constant(true)))
        from method in Gen.Elements(write ? WriteMethods : SafeMethods)
        from target in Target(canaryAllowed: !write)
        from headers in Headers(key, asciiOnly: true)
        from body in write && method is not ("DELETE" or "TRACE") ? Body() : Gen.Constant(Array.Empty<byte>())
        select new HostileRequest(method, target, headers, body, Raw: false);

    private static Gen<HostileRequest> RawRequest(string key) =>
        from framing in Gen.Elements(RawFramings)
        from method in Gen.Elements(framing is "asterisk" ? new[] { "OPTIONS" } : new[] { "GET", "PUT", "POST", "G@T", "get" })
        from target in Target(canaryAllowed: false)
        from headers in Headers(key, asciiOnly: false)
        from body in Body()
        select new HostileRequest(method, target, headers, body, Raw: true, framing);

    private static Gen<string> Target(bool canaryAllowed) =>
        Gen.Frequency(
            (6, from name in StreamName(canaryAllowed) from query in Query() select $"/v1/stream/{name}{query}"),
            (1, Gen.Elements(OtherPaths)));

    private static Gen<string> StreamName(bool canaryAllowed)
    {
        var pool = from name in Gen.Elements(BaseNames) from encoded in Encode(name) select encoded;
        return canaryAllowed
            ? Gen.Frequency((3, pool), (1, Gen.Elements(CanaryPrefix + "bytes", CanaryPrefix + "json", CanaryPrefix + "bytes/_details")))
            : pool;
    }

    /// <summary>Ways of writing a name into a URL: escaped in full (so '/' is %2F), escaped but '/', or broken escapes.</summary>
    private static Gen<string> Encode(string name) =>
        Gen.Elements(
            Uri.EscapeDataString(name),
            string.Join('/', name.Split('/').Select(Uri.EscapeDataString)),
            Uri.EscapeDataString(name) + "%",
            Uri.EscapeDataString(name) + "%C3%28",
            Uri.EscapeDataString(name) + "%F0%9F",
            Uri.EscapeDataString(name).Replace("%", "%25", StringComparison.Ordinal));

    private static Gen<string> Query() =>
        from offset in Gen.Frequency((1, Gen.Constant<string?>(null)), (4, Gen.Elements(Offsets).Select(value => (string?)value)))
        from live in Gen.Frequency((3, Gen.Constant<string?>(null)), (1, Gen.Elements(LiveModes).Select(value => (string?)value)))
        from cursor in Gen.Frequency((5, Gen.Constant<string?>(null)), (1, Gen.Elements("0", "-1", "abc", new string('9', 400)).Select(value => (string?)value)))
        select Join(("offset", offset), ("live", live), ("cursor", cursor));

    private static string Join(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(parameter => parameter.Value is not null).Select(parameter => $"{parameter.Name}={parameter.Value}").ToList();
        return present.Count == 0 ? string.Empty : "?" + string.Join('&', present);
    }

    private static Gen<IReadOnlyList<(string Name, string Value)>> Headers(string key, bool asciiOnly) =>
        from count in Gen.Choose(0, 6)
        from picked in Gen.ArrayOf(Gen.Elements(HeaderPool).SelectMany(header => Gen.Elements(header.Values).Select(value => (header.Name, Value: value))), count)
        from authorization in Gen.Frequency(
            (12, Gen.Constant<string?>($"Bearer {key}")),
            (1, Gen.Elements<string?>(null, "", "Bearer", "Bearer wrong-key-value", $"Basic {key}", $"bearer {key}", "Bearer " + new string('k', 9000))))
        select (IReadOnlyList<(string Name, string Value)>)picked
            .Where(header => !asciiOnly || header.Value.All(char.IsAscii))
            .Concat(authorization is null ? Array.Empty<(string Name, string Value)>() : new[] { ("Authorization", authorization) })
            .ToList();

    private static Gen<byte[]> Body() =>
        Gen.Frequency(
            (2, Gen.Constant(Array.Empty<byte>())),
            (3, from length in Gen.Choose(1, 2000) from seed in Gen.Choose(0, int.MaxValue) select RandomBytes(length, seed)),
            (4, Json().Select(Encoding.UTF8.GetBytes)),
            (1, Json().Select(json => new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(json)).ToArray())),
            (1, Gen.Elements(
                new byte[] { (byte)'[', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)']' },
                new byte[] { (byte)'"', 0xFF, 0xFE, (byte)'"' },
                new byte[] { (byte)'[', (byte)'"', 0xED, 0xA0, 0x80, (byte)'"', (byte)']' })),
            (1, Gen.Choose(60_000, 70_000).Select(length => Encoding.ASCII.GetBytes("[\"" + new string('x', length) + "\"]"))));

    private static Gen<string> Json() =>
        Gen.OneOf(
            Gen.Elements("{}", "[]", "[1,]", "{\"a\":", "null", "[null]", "\"s\"", "[[],[]]", "{\"a\":1,\"a\":2}", "[1e999999]", "[-0]", "[123456789012345678901234567890]", "[\"\\ud800\"]", "[\"\\u0000\"]", "  [1]  ", "[1] [2]"),
            Gen.Choose(1, 20_000).Select(depth => new string('[', depth) + new string(']', depth)),
            Gen.Choose(1, 20_000).Select(depth => new string('[', depth)),
            Gen.Choose(1, 5_000).Select(depth => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)),
            Gen.Choose(1, 200).Select(count => "[" + string.Join(',', Enumerable.Range(0, count).Select(i => $"{{\"n\":{i}}}")) + "]"));

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
