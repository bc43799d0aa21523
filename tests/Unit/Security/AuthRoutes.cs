using System.Net.Http.Headers;
using System.Text;

namespace Streams.Tests.Unit.Security;

/// <summary>Every route of the server as a request factory, with what it needs.</summary>
internal static class AuthRoutes
{
    /// <summary>A route: its label, whether it writes, whether it is node-wide, and how to build the request for a stream.</summary>
    public sealed record Route(string Label, bool Writes, bool NodeWide, Func<string, HttpRequestMessage> Build);

    public static readonly Route[] All =
    [
        new("create", Writes: true, NodeWide: false, name => WithBody(HttpMethod.Put, $"/v1/stream/{name}", "first")),
        new("append", Writes: true, NodeWide: false, name => WithBody(HttpMethod.Post, $"/v1/stream/{name}", "more")),
        new("read", Writes: false, NodeWide: false, name => new HttpRequestMessage(HttpMethod.Get, $"/v1/stream/{name}?offset=-1")),
        new("long-poll", Writes: false, NodeWide: false, name => new HttpRequestMessage(HttpMethod.Get, $"/v1/stream/{name}?offset=now&live=long-poll")),
        new("sse", Writes: false, NodeWide: false, name => new HttpRequestMessage(HttpMethod.Get, $"/v1/stream/{name}?offset=now&live=sse")),
        new("head", Writes: false, NodeWide: false, name => new HttpRequestMessage(HttpMethod.Head, $"/v1/stream/{name}")),
        new("details", Writes: false, NodeWide: false, name => new HttpRequestMessage(HttpMethod.Get, $"/v1/stream/{name}/_details")),
        new("fork", Writes: true, NodeWide: false, name => Fork(name)),
        new("delete", Writes: true, NodeWide: false, name => new HttpRequestMessage(HttpMethod.Delete, $"/v1/stream/{name}")),
        new("list", Writes: false, NodeWide: true, _ => new HttpRequestMessage(HttpMethod.Get, "/v1/streams")),
        new("metrics", Writes: false, NodeWide: true, _ => new HttpRequestMessage(HttpMethod.Get, "/metrics")),
        new("unknown route", Writes: false, NodeWide: true, _ => new HttpRequestMessage(HttpMethod.Get, "/no/such/route")),
    ];

    public static HttpRequestMessage WithBody(HttpMethod method, string path, string body)
    {
        var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        return request;
    }

    private static HttpRequestMessage Fork(string source)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/stream/{source}-fork");
        request.Headers.Add("Stream-Forked-From", $"/v1/stream/{source}");
        return request;
    }
}
