using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streams.Tests.Fuzz;

/// <summary>Sends a <see cref="HostileRequest"/> and returns the status the server answered (0: no answer, connection closed).</summary>
internal sealed class HostileSender(Uri baseAddress, HttpClient client)
{
    private static readonly TimeSpan RawAnswerWithin = TimeSpan.FromSeconds(20);

    /// <summary>Why the last request without an answer failed, for the suite's summary.</summary>
    public string? LastClientFailure { get; private set; }

    public Task<int> SendAsync(HostileRequest request) => request.Raw ? SendRawAsync(request) : SendClientAsync(request);

    private async Task<int> SendClientAsync(HostileRequest request)
    {
        using var message = new HttpRequestMessage(
            new HttpMethod(request.Method),
            // Appended, not resolved: "//v1/..." resolved against the base would name a host "v1".
            new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + request.Target));
        if (request.Body.Length > 0 || request.Method is "PUT" or "POST")
        {
            message.Content = new ByteArrayContent(request.Body);
        }

        foreach (var (name, value) in request.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content ??= new ByteArrayContent([]);
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        try
        {
            // Headers only: an SSE answer is a stream the suite does not need to read.
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException exception)
        {
            LastClientFailure = $"{exception.Message} {exception.InnerException?.Message}";
            // The server closed the connection instead of answering (or the client refused to send
            // what was generated): not a 5xx; the health and read-back checks catch a broken server.
            return 0;
        }
    }

    private async Task<int> SendRawAsync(HostileRequest request)
    {
        var bytes = RawBytes(request);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var deadline = new CancellationTokenSource(RawAnswerWithin);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, baseAddress.Port), deadline.Token);
        try
        {
            // No half-close after sending: Kestrel takes a FIN as the client leaving and may drop the
            // answer. "Connection: close" makes the server close once it has answered.
            await socket.SendAsync(bytes, SocketFlags.None, deadline.Token);
        }
        catch (SocketException)
        {
            // The server may answer and close before reading a huge request to the end.
        }

        var received = new MemoryStream();
        var buffer = new byte[16384];
        try
        {
            int read;
            while (received.Length < 64 && (read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // Reset after (or instead of) an answer: what arrived is the answer.
        }

        var head = Encoding.ASCII.GetString(received.ToArray());
        return head.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && head.Length >= 12 && int.TryParse(head.AsSpan(9, 3), out var status)
            ? status
            : 0;
    }

    private byte[] RawBytes(HostileRequest request)
    {
        var framing = request.RawFraming;
        var newline = framing == "lf-only" ? "\n" : "\r\n";
        var target = framing switch
        {
            "nul-path" => request.Target + "\0x",
            "utf8-path" => request.Target + "\U0001F600\u00e9",
            "long-line" => request.Target + "?pad=" + new string('p', 9000),
            "absolute-form" => $"http://127.0.0.1:{baseAddress.Port}{request.Target}",
            "asterisk" => "*",
            _ => request.Target,
        };
        var head = new StringBuilder();
        head.Append(request.Method).Append(' ').Append(target).Append(" HTTP/1.1").Append(newline);
        head.Append("Host: 127.0.0.1").Append(newline);
        head.Append("Connection: close").Append(newline);
        foreach (var (name, value) in request.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append(newline);
        }

        var body = request.Body;
        switch (framing)
        {
            case "chunked-bad":
                head.Append("Transfer-Encoding: chunked").Append(newline);
                body = Encoding.ASCII.GetBytes("zz\r\nabc\r\n0\r\n\r\n");
                break;
            case "both":
                head.Append("Transfer-Encoding: chunked").Append(newline).Append("Content-Length: 3").Append(newline);
                body = [.. Encoding.ASCII.GetBytes($"{body.Length:X}\r\n"), .. body, .. Encoding.ASCII.GetBytes("\r\n0\r\n\r\n")];
                break;
            case "length-short":
                head.Append("Content-Length: ").Append(Math.Max(0, body.Length - 1)).Append(newline);
                break;
            case "length-bogus":
                head.Append("Content-Length: 12abc").Append(newline);
                break;
            case "fold":
                head.Append("X-Folded: a").Append(newline).Append(" b").Append(newline).Append("Content-Length: ").Append(body.Length).Append(newline);
                break;
            case "huge-headers":
                head.Append("X-Huge: ").Append(new string('h', 40_000)).Append(newline);
                break;
            case "bad-header-name":
                head.Append("Bad Header: 1").Append(newline).Append("NoColon").Append(newline);
                break;
            case "latin1-header":
                head.Append("Content-Length: ").Append(body.Length).Append(newline);
                break;
            default:
                head.Append("Content-Length: ").Append(body.Length).Append(newline);
                break;
        }

        head.Append(newline);
        var headBytes = Encoding.UTF8.GetBytes(head.ToString());
        if (framing == "latin1-header")
        {
            headBytes = [.. Encoding.ASCII.GetBytes("GET /v1/stream/fz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Bytes: "), 0xFF, 0xC3, 0x28, 0x00, .. Encoding.ASCII.GetBytes("\r\n\r\n")];
            body = [];
        }

        return [.. headBytes, .. body];
    }
}
