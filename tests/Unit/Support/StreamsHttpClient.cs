using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Streams.Actors.Domain;
using Xunit;

namespace Streams.Tests.Unit.Support;

/// <summary>The protocol calls the process-level tests make, over plain HTTP.</summary>
internal sealed class StreamsHttpClient : IDisposable
{
    public const string OctetStream = "application/octet-stream";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);
    private readonly HttpClient http;
    private readonly bool ownsHttp;

    public StreamsHttpClient(Uri baseAddress)
    {
        http = new HttpClient { BaseAddress = baseAddress, Timeout = RequestTimeout };
        ownsHttp = true;
    }

    /// <summary>Over a client someone else owns (a <see cref="ServerProcess"/>'s), which it does not dispose.</summary>
    public StreamsHttpClient(HttpClient http)
    {
        this.http = http;
    }

    public static string StreamPath(string name) => "/v1/stream/" + Uri.EscapeDataString(name);

    public async Task<bool> IsHealthyAsync()
    {
        try
        {
            using var response = await http.GetAsync("/health");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    public async Task CreateAsync(string name)
    {
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
        using var response = await http.PutAsync(StreamPath(name), content);
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
        {
            throw new InvalidOperationException($"PUT {name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Appends one record; the offset after it once acknowledged, null when refused (any non-2xx).</summary>
    public async Task<Offset?> TryAppendAsync(string name, byte[] record, CancellationToken cancellationToken = default)
    {
        using var content = new ByteArrayContent(record);
        content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
        using var response = await http.PostAsync(StreamPath(name), content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        return Offset.TryParse(response.Headers.GetValues("Stream-Next-Offset").Single(), out var next)
            ? next
            : throw new InvalidOperationException($"POST {name} answered an unparsable Stream-Next-Offset");
    }

    public async Task<Offset> AppendAsync(string name, byte[] record) =>
        await TryAppendAsync(name, record) ?? throw new InvalidOperationException($"POST {name} was refused");

    /// <summary>One catch-up read: the bytes from <paramref name="offset"/> (or the start), the next offset, and whether that is the tail.</summary>
    public async Task<(byte[] Body, Offset Next, bool UpToDate)> ReadAsync(string name, Offset? offset)
    {
        var query = offset is { } at ? "?offset=" + at : "?offset=-1";
        using var response = await http.GetAsync(StreamPath(name) + query);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {name}{query} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        var body = await response.Content.ReadAsByteArrayAsync();
        Offset.TryParse(response.Headers.GetValues("Stream-Next-Offset").Single(), out var next);
        var upToDate = response.Headers.TryGetValues("Stream-Up-To-Date", out var values) && values.Single() == "true";
        return (body, next, upToDate);
    }

    /// <summary>Every byte of the stream from <paramref name="offset"/> to its tail, page by page, and the tail.</summary>
    public async Task<(byte[] Bytes, Offset Tail)> ReadToTailAsync(string name, Offset? offset = null)
    {
        using var all = new MemoryStream();
        var at = offset;
        while (true)
        {
            var (body, next, upToDate) = await ReadAsync(name, at);
            all.Write(body);
            if (upToDate)
            {
                return (all.ToArray(), next);
            }

            at = next;
        }
    }

    /// <summary>The stream's <c>_details</c> document.</summary>
    public async Task<JsonElement> DetailsAsync(string name)
    {
        using var response = await http.GetAsync(StreamPath(name) + "/_details");
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        return document.RootElement.Clone();
    }

    /// <summary>
    /// Awaits a writer that was stopped by the server going away: it may end normally (refused,
    /// cancelled) or with the connection the shutdown cut, but any other failure (an assertion on
    /// an acknowledged offset) fails the test.
    /// </summary>
    public static async Task AssertEndedByShutdownAsync(Task writer)
    {
        var exception = await Record.ExceptionAsync(() => writer);
        Assert.True(exception is null or HttpRequestException or OperationCanceledException, $"a writer failed: {exception}");
    }

    public void Dispose()
    {
        if (ownsHttp)
        {
            http.Dispose();
        }
    }
}

/// <summary>The protocol calls against a server process.</summary>
internal static class ServerProcessProtocol
{
    public static StreamsHttpClient Protocol(this ServerProcess server) => new(server.Client);
}
