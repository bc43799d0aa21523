namespace Streams.Api.Http;

/// <summary>Header names of the Durable Streams protocol.</summary>
internal static class ProtocolHeaders
{
    public const string NextOffset = "Stream-Next-Offset";
    public const string UpToDate = "Stream-Up-To-Date";
    public const string Cursor = "Stream-Cursor";
    public const string Closed = "Stream-Closed";
    public const string Ttl = "Stream-TTL";
    public const string ExpiresAt = "Stream-Expires-At";
    public const string Seq = "Stream-Seq";
    public const string ProducerId = "Producer-Id";
    public const string ProducerEpoch = "Producer-Epoch";
    public const string ProducerSeq = "Producer-Seq";
    public const string ProducerExpectedSeq = "Producer-Expected-Seq";
    public const string ProducerReceivedSeq = "Producer-Received-Seq";
    public const string ForkedFrom = "Stream-Forked-From";
    public const string ForkOffset = "Stream-Fork-Offset";
    public const string ForkSubOffset = "Stream-Fork-Sub-Offset";
    public const string SseDataEncoding = "Stream-SSE-Data-Encoding";

    /// <summary>Headers a browser client must be allowed to read (CORS expose list).</summary>
    public const string ExposedToBrowsers =
        "Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, Stream-Expires-At, " +
        "Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, ETag, Content-Type, Location";

    /// <summary>Request headers a browser client may send (CORS allow list).</summary>
    public const string AllowedFromBrowsers =
        "Content-Type, Stream-Closed, Stream-TTL, Stream-Expires-At, Stream-Seq, Producer-Id, Producer-Epoch, " +
        "Producer-Seq, Stream-Forked-From, Stream-Fork-Offset, Stream-Fork-Sub-Offset, If-None-Match, Authorization";

    /// <summary>Any casing of "true" turns a boolean protocol header on; every other value means absent.</summary>
    public static bool IsTrue(string? value) => string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
}
