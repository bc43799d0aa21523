using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 that answers each request with whatever the test's
/// handler returns, including replies no real server sends on purpose: a Content-Length larger
/// than the body, or a connection closed mid-body. One request per connection.
/// </summary>
public sealed class FakeS3Server : IAsyncDisposable
{
    private const int MaxHeaderBytes = 64 * 1024;
    private static readonly byte[] HeaderTerminator = "\r\n\r\n"u8.ToArray();

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<FakeRequest, FakeResponse> _handler;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();
    private readonly Task _acceptLoop;

    public FakeS3Server(Func<FakeRequest, FakeResponse> handler)
    {
        _handler = handler;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IReadOnlyList<FakeRequest> Requests => _requests.ToArray();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream, _stopping.Token);
                if (request is null)
                {
                    return;
                }

                _requests.Enqueue(request);
                var response = _handler(request);
                await WriteResponseAsync(stream, request, response, _stopping.Token);
            }
            catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException)
            {
                // The client went away; nothing to answer.
            }
        }
    }

    private static async Task<FakeRequest?> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!EndsWithTerminator(buffer))
        {
            if (buffer.Count > MaxHeaderBytes || await stream.ReadAsync(one, cancellationToken) == 0)
            {
                return null;
            }

            buffer.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var requestLine = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = Array.Empty<byte>();
        if (headers.TryGetValue("Content-Length", out var length) && int.Parse(length, CultureInfo.InvariantCulture) is > 0 and var bodyLength)
        {
            body = new byte[bodyLength];
            await stream.ReadExactlyAsync(body, cancellationToken);
        }

        return new FakeRequest(requestLine[0], Uri.UnescapeDataString(requestLine[1]), headers, body);
    }

    private static async Task WriteResponseAsync(NetworkStream stream, FakeRequest request, FakeResponse response, CancellationToken cancellationToken)
    {
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {(HttpStatusCode)response.Status}\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {response.DeclaredLength ?? response.Body.Length}\r\n")
            .Append("Connection: close\r\n")
            .Append("Date: ").Append(DateTime.UtcNow.ToString("R", CultureInfo.InvariantCulture)).Append("\r\n");
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken);
        if (request.Method != "HEAD")
        {
            await stream.WriteAsync(response.Body, cancellationToken);
        }

        await stream.FlushAsync(cancellationToken);
    }

    private static bool EndsWithTerminator(List<byte> buffer) =>
        buffer.Count >= HeaderTerminator.Length
        && buffer[^4] == HeaderTerminator[0] && buffer[^3] == HeaderTerminator[1]
        && buffer[^2] == HeaderTerminator[2] && buffer[^1] == HeaderTerminator[3];
}

/// <summary>A request as received; Target is the unescaped path and query.</summary>
public sealed record FakeRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Path => Target.Split('?')[0];
}

/// <summary>
/// A reply. <see cref="DeclaredLength"/>, when set, is sent as Content-Length instead of the
/// body's real length; the connection is closed after the body either way.
/// </summary>
public sealed record FakeResponse(int Status, byte[] Body, IReadOnlyDictionary<string, string>? Headers = null, long? DeclaredLength = null)
{
    public static FakeResponse Ok(byte[]? body = null, long? declaredLength = null) =>
        new((int)HttpStatusCode.OK, body ?? [], new Dictionary<string, string> { ["ETag"] = "\"0\"", ["Last-Modified"] = "Mon, 01 Jan 2024 00:00:00 GMT" }, declaredLength);

    public static FakeResponse NotFound() => new((int)HttpStatusCode.NotFound, []);
}
