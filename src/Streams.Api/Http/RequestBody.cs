using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Streams.Api.Http;

/// <summary>
/// Reads a request body whole into one array of exactly its size, refusing anything larger than the
/// configured limit. With a Content-Length the bytes go straight into that array; a chunked body is
/// buffered by the connection's pipe (pooled memory) and copied out once at the end.
/// </summary>
internal static class RequestBody
{
    /// <summary>The body, or null when it is larger than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > maxBytes)
        {
            return null;
        }

        // Our own limit is enforced here; Kestrel's would answer without our error body.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        return request.ContentLength is { } length
            ? await ReadDeclaredAsync(request.Body, (int)length, cancellationToken)
            : await ReadChunkedAsync(request.BodyReader, maxBytes, cancellationToken);
    }

    /// <summary>
    /// A body of a declared length: Kestrel ends the body stream at exactly that many bytes (and fails
    /// the read if the client sends fewer), so the array is filled in place with no intermediate copy.
    /// </summary>
    private static async Task<byte[]> ReadDeclaredAsync(Stream body, int length, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return [];
        }

        var buffer = GC.AllocateUninitializedArray<byte>(length);
        var filled = 0;
        int read;
        while (filled < length && (read = await body.ReadAsync(buffer.AsMemory(filled), cancellationToken)) > 0)
        {
            filled += read;
        }

        return filled == length ? buffer : buffer[..filled];
    }

    /// <summary>
    /// A body without a declared length: left in the pipe until it is complete (nothing is consumed
    /// before the end, so the pipe holds it all), checked against the limit as it grows.
    /// </summary>
    private static async Task<byte[]?> ReadChunkedAsync(System.IO.Pipelines.PipeReader reader, long maxBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffered = result.Buffer;
            if (buffered.Length > maxBytes)
            {
                reader.AdvanceTo(buffered.End);
                return null;
            }

            if (result.IsCompleted)
            {
                var body = buffered.ToArray();
                reader.AdvanceTo(buffered.End);
                return body;
            }

            // Examined everything, consumed nothing: the next read returns once more has arrived.
            reader.AdvanceTo(buffered.Start, buffered.End);
        }
    }
}
