using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Streams.Tests.Unit.Durability;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// Broken HTTP framing only a real socket can send — a Content-Length larger than the body, a
/// bad chunk — against the real server process (Kestrel parses the framing, not the test host).
/// Each must end in a JSON error within a bounded time, or a closed connection, and append nothing.
/// </summary>
public sealed class MalformedHttpTests : IAsyncLifetime
{
    private const string Stream = "framing";

    /// <summary>Kestrel gives a body 5 s of grace before enforcing its minimum data rate.</summary>
    private static readonly TimeSpan SlowBodyAnswerWithin = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);

    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-framing-{Guid.NewGuid():N}");
    private readonly HttpClient client = new() { Timeout = TimeSpan.FromSeconds(10) };
    private ServerProcess server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(dataDirectory);
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        server = await ServerProcess.StartAsync(dataDirectory, longPollTimeoutMs: 500, budget.Token);
        using var create = new HttpRequestMessage(HttpMethod.Put, new Uri(server.BaseAddress, $"v1/stream/{Stream}"))
        {
            Content = new ByteArrayContent("start"u8.ToArray()),
        };
        create.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var created = await client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Should_answer_400_malformed_request_and_append_nothing_when_a_chunk_size_is_not_hex()
    {
        var response = await ExchangeAsync(Post("Transfer-Encoding: chunked", "zz\r\nabc\r\n0\r\n\r\n"), AnswerWithin);

        Assert.Equal(400, response.Status);
        JsonErrorAssert.Is(response.Body, "malformed_request");
        Assert.Equal("start", await ReadAsync());
    }

    [Fact]
    public async Task Should_answer_408_request_timeout_and_append_nothing_when_the_body_is_shorter_than_its_content_length()
    {
        // The connection stays open: the server waits for 90 more bytes that never come.
        var response = await ExchangeAsync(Post("Content-Length: 100", "0123456789"), SlowBodyAnswerWithin);

        Assert.Equal(408, response.Status);
        JsonErrorAssert.Is(response.Body, "request_timeout");
        Assert.Equal("start", await ReadAsync());
    }

    [Fact]
    public async Task Should_append_nothing_when_the_client_closes_before_sending_its_whole_body()
    {
        using (var socket = await ConnectAsync())
        {
            await socket.SendAsync(Post("Content-Length: 100", "0123456789"));
            socket.Shutdown(SocketShutdown.Send);
            var closed = await ReadToEndAsync(socket, AnswerWithin);
            Assert.True(closed.Length == 0 || closed.StartsWith("HTTP/1.1 4", StringComparison.Ordinal), $"unexpected answer: {closed}");
        }

        Assert.Equal("start", await ReadAsync());
    }

    [Fact]
    public async Task Should_append_a_well_formed_chunked_body_whole()
    {
        var response = await ExchangeAsync(Post("Transfer-Encoding: chunked", "3\r\n-ab\r\n2\r\ncd\r\n0\r\n\r\n"), AnswerWithin);

        Assert.Equal(204, response.Status);
        Assert.Equal("start-abcd", await ReadAsync());
    }

    [Fact]
    public async Task Should_read_only_the_chunked_body_when_content_length_and_chunked_are_both_sent()
    {
        // A request smuggling classic: the chunked framing wins and the connection is not reused.
        var response = await ExchangeAsync(Post("Content-Length: 3\r\nTransfer-Encoding: chunked", "3\r\n-ab\r\n0\r\n\r\n"), AnswerWithin);

        Assert.True(response.Status is 204 or 400, $"unexpected status {response.Status}");
        Assert.Equal(response.Status == 204 ? "start-ab" : "start", await ReadAsync());
    }

    private static byte[] Post(string framingHeaders, string body) =>
        Encoding.ASCII.GetBytes(
            $"POST /v1/stream/{Stream} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nConnection: close\r\n{framingHeaders}\r\n\r\n{body}");

    private async Task<string> ReadAsync()
    {
        using var response = await client.GetAsync(new Uri(server.BaseAddress, $"v1/stream/{Stream}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        return socket;
    }

    /// <summary>Sends raw bytes and reads the answer until the server closes the connection.</summary>
    private async Task<RawResponse> ExchangeAsync(byte[] request, TimeSpan within)
    {
        using var socket = await ConnectAsync();
        await socket.SendAsync(request);
        var text = await ReadToEndAsync(socket, within);
        return RawResponse.Parse(text);
    }

    private static async Task<string> ReadToEndAsync(Socket socket, TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no complete answer within {within}; received: {Encoding.ASCII.GetString(received.ToArray())}");
        }
        catch (SocketException)
        {
            // Reset after the answer (or instead of one): what arrived is the answer.
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }

    private sealed record RawResponse(int Status, string Body)
    {
        public static RawResponse Parse(string text)
        {
            var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            Assert.True(headerEnd > 0, $"not an HTTP response: '{text}'");
            var head = text[..headerEnd];
            var status = int.Parse(head.Split(' ')[1], CultureInfo.InvariantCulture);
            var body = text[(headerEnd + 4)..];
            if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            {
                body = Dechunk(body);
            }

            return new RawResponse(status, body);
        }

        private static string Dechunk(string chunked)
        {
            var result = new StringBuilder();
            var at = 0;
            while (true)
            {
                var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
                var size = int.Parse(chunked[at..lineEnd], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    return result.ToString();
                }

                result.Append(chunked, lineEnd + 2, size);
                at = lineEnd + 2 + size + 2;
            }
        }
    }
}
