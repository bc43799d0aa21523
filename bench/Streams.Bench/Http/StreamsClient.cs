using System.Net;
using System.Net.Http.Headers;

namespace Streams.Bench.Http;

/// <summary>The result of a read: status, body and the protocol headers a reader follows.</summary>
public sealed record ReadResult(HttpStatusCode Status, byte[] Body, string? NextOffset, bool UpToDate);

/// <summary>A read whose body went through the caller's buffer: status, its length and the protocol headers.</summary>
public sealed record PageResult(HttpStatusCode Status, long BodyLength, string? NextOffset, bool UpToDate);

/// <summary>
/// The few protocol calls the benchmarks make, over one pooled <see cref="HttpClient"/>. Stream names are
/// escaped whole, so a '/' in a name travels as %2F (the server treats both the same).
/// </summary>
public sealed class StreamsClient : IDisposable
{
    public const string OffsetBeginning = "-1";
    private const string NextOffsetHeader = "Stream-Next-Offset";
    private const string UpToDateHeader = "Stream-Up-To-Date";

    private readonly HttpClient http;

    public StreamsClient(Uri baseAddress, int maxConnections, TimeSpan requestTimeout)
    {
        http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            UseProxy = false,
            // Loopback only: no compression, no cookies, no redirects to follow.
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        {
            BaseAddress = baseAddress,
            Timeout = requestTimeout,
        };
    }

    public static string Path(string name) => "v1/stream/" + Uri.EscapeDataString(name);

    public async Task CreateAsync(string name, string contentType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, Path(name)) { Content = new ByteArrayContent([]) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
        {
            throw new HttpRequestException($"creating {name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>Appends one body; returns the status (the caller decides what a non-2xx means for it).</summary>
    public async Task<HttpStatusCode> AppendAsync(string name, ReadOnlyMemory<byte> body, string contentType, CancellationToken cancellationToken)
    {
        using var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await http.PostAsync(Path(name), content, cancellationToken);
        // The body is drained so the connection goes back to the pool.
        await response.Content.CopyToAsync(Stream.Null, cancellationToken);
        return response.StatusCode;
    }

    public async Task<ReadResult> ReadAsync(string name, string offset, string? live, CancellationToken cancellationToken)
    {
        var query = "?offset=" + Uri.EscapeDataString(offset) + (live is null ? string.Empty : "&live=" + live);
        using var response = await http.GetAsync(Path(name) + query, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var next = response.Headers.TryGetValues(NextOffsetHeader, out var nextValues) ? nextValues.FirstOrDefault() : null;
        var upToDate = response.Headers.TryGetValues(UpToDateHeader, out var upToDateValues)
            && string.Equals(upToDateValues.FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        return new ReadResult(response.StatusCode, body, next, upToDate);
    }

    /// <summary>
    /// A catch-up read the way a consumer that handles bytes as they come does it: the body is read
    /// through <paramref name="buffer"/> (one piece at a time, each overwriting the last) instead of
    /// being gathered into a new array of the page's size, which costs the client fresh memory (page
    /// faults, zeroing, a garbage-collected large object) for every page.
    /// </summary>
    public async Task<PageResult> ReadPageAsync(string name, string offset, byte[] buffer, CancellationToken cancellationToken)
    {
        var query = "?offset=" + Uri.EscapeDataString(offset);
        using var response = await http.GetAsync(Path(name) + query, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        long length = 0;
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            length += read;
        }

        var next = response.Headers.TryGetValues(NextOffsetHeader, out var nextValues) ? nextValues.FirstOrDefault() : null;
        var upToDate = response.Headers.TryGetValues(UpToDateHeader, out var upToDateValues)
            && string.Equals(upToDateValues.FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        return new PageResult(response.StatusCode, length, next, upToDate);
    }

    /// <summary>The <c>owner_node</c> that the stream's <c>_details</c> names.</summary>
    public async Task<string> OwnerNodeAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(Path(name) + "/_details", cancellationToken);
        response.EnsureSuccessStatusCode();
        using var details = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        return details.RootElement.TryGetProperty("owner_node", out var owner) && owner.GetString() is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"_details of {name} names no owner_node");
    }

    public async Task<HttpStatusCode> PingAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync("health", cancellationToken);
        return response.StatusCode;
    }

    /// <summary>The record position of a wire offset <c>EEEEEEEEEEEEEEEE_SSSSSSSSSSSSSSSS</c>.</summary>
    public static long Position(string offset)
    {
        var underscore = offset.IndexOf('_', StringComparison.Ordinal);
        return long.Parse(offset.AsSpan(underscore + 1), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() => http.Dispose();
}
