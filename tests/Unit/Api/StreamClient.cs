using System.Net.Http.Headers;
using System.Text;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>Requests against one stream URL. The <c>...Async</c> arrange helpers fail the test unless they succeed.</summary>
internal sealed class StreamClient(HttpClient client, string path)
{
    public const string PlainText = "text/plain";
    public const string Json = "application/json";

    public string Path { get; } = path;

    public static (string Name, string Value)[] Producer(string id, long epoch, long seq) =>
        [("Producer-Id", id), ("Producer-Epoch", epoch.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("Producer-Seq", seq.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public Task<HttpResponseMessage> Put(string? contentType = PlainText, string? body = null, params (string Name, string Value)[] headers) =>
        Send(HttpMethod.Put, string.Empty, Content(body, contentType), headers);

    public Task<HttpResponseMessage> Post(string? body, string? contentType = PlainText, params (string Name, string Value)[] headers) =>
        Send(HttpMethod.Post, string.Empty, Content(body ?? string.Empty, contentType), headers);

    public Task<HttpResponseMessage> PostBytes(byte[] body, string contentType) =>
        Send(HttpMethod.Post, string.Empty, Content(body, contentType), []);

    public Task<HttpResponseMessage> Get(string query = "", params (string Name, string Value)[] headers) =>
        Send(HttpMethod.Get, query, content: null, headers);

    public Task<HttpResponseMessage> Head() => Send(HttpMethod.Head, string.Empty, content: null, []);

    public Task<HttpResponseMessage> Delete() => Send(HttpMethod.Delete, string.Empty, content: null, []);

    public Task<HttpResponseMessage> Send(HttpMethod method, string query = "", HttpContent? content = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, Path + query) { Content = content };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return client.SendAsync(request);
    }

    /// <summary>A request to another path on the same server.</summary>
    public Task<HttpResponseMessage> SendTo(HttpMethod method, string otherPath) =>
        client.SendAsync(new HttpRequestMessage(method, otherPath));

    public async Task CreateAsync(string contentType = PlainText, string? body = null, params (string Name, string Value)[] headers)
    {
        using var response = await Put(contentType, body, headers);
        Assert.Equal(201, (int)response.StatusCode);
    }

    public async Task AppendAsync(string body, string contentType = PlainText, params (string Name, string Value)[] headers)
    {
        using var response = await Post(body, contentType, headers);
        Assert.True(response.IsSuccessStatusCode, $"append answered {(int)response.StatusCode}");
    }

    public async Task CloseAsync()
    {
        using var response = await Post(body: null, contentType: null, ("Stream-Closed", "true"));
        Assert.Equal(204, (int)response.StatusCode);
    }

    private static ByteArrayContent? Content(string? body, string? contentType) =>
        body is null && contentType is null ? null : Content(Encoding.UTF8.GetBytes(body ?? string.Empty), contentType);

    private static ByteArrayContent Content(byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }
}
