using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Actors.Hosting;
using Streams.Api.Cluster;
using Xunit;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// Forwarding to an owner whose connection closes after it has read a request, without an answer:
/// what a leaving node's listener did to requests written onto pooled connections it was closing.
/// The owner is a real loopback socket; the request goes through the real <see cref="HttpClient"/>.
/// </summary>
public sealed class OwnerProxyTests
{
    [Fact]
    public async Task Should_ask_for_the_owner_again_when_an_idempotent_producer_append_gets_no_answer()
    {
        await using var owner = await SilentOwner.StartAsync();
        var context = Append(producerHeaders: true);

        var outcome = await Forward(context, owner);

        // The owner applies a producer's sequence number once, so the append may be sent again.
        Assert.Equal(ForwardOutcome.NotTaken, outcome);
        Assert.False(context.Response.HasStarted);
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Equal(1, owner.RequestsRead);
    }

    [Fact]
    public async Task Should_answer_503_when_a_plain_append_gets_no_answer()
    {
        await using var owner = await SilentOwner.StartAsync();
        var context = Append(producerHeaders: false);

        var outcome = await Forward(context, owner);

        // The owner may have applied it: sending it again could append it twice.
        Assert.Equal(ForwardOutcome.Answered, outcome);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal(1, owner.RequestsRead);
    }

    private static async Task<ForwardOutcome> Forward(HttpContext context, SilentOwner owner)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var proxy = new OwnerProxy(client, new StreamsNode(cluster: null, "forwarding-node"), NullLogger<OwnerProxy>.Instance);
        return await proxy.ForwardAsync(context, new StreamOwner("owner-node", owner.BaseUrl, IsLocal: false), CancellationToken.None);
    }

    private static DefaultHttpContext Append(bool producerHeaders)
    {
        var body = Encoding.UTF8.GetBytes("record");
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = "/v1/stream/moving";
        context.Request.ContentType = "text/plain";
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body);
        if (producerHeaders)
        {
            context.Request.Headers["Producer-Id"] = "producer-1";
            context.Request.Headers["Producer-Epoch"] = "0";
            context.Request.Headers["Producer-Seq"] = "7";
        }

        context.Response.Body = new MemoryStream();
        return context;
    }

    /// <summary>Accepts one connection, reads the request's head, and closes the connection without a byte of answer.</summary>
    private sealed class SilentOwner : IAsyncDisposable
    {
        private readonly TcpListener listener;
        private readonly Task serving;
        private int requestsRead;

        private SilentOwner(TcpListener listener)
        {
            this.listener = listener;
            serving = ServeOneAsync();
        }

        public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

        public int RequestsRead => Volatile.Read(ref requestsRead);

        public static Task<SilentOwner> StartAsync()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new SilentOwner(listener));
        }

        public async ValueTask DisposeAsync()
        {
            listener.Stop();
            await serving;
        }

        private async Task ServeOneAsync()
        {
            try
            {
                using var socket = await listener.AcceptSocketAsync();
                var received = new StringBuilder();
                var buffer = new byte[4096];
                while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                Interlocked.Increment(ref requestsRead);
                // Closed without an answer, as a listener that shuts down closes a connection.
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Stopped before a request came.
            }
            catch (ObjectDisposedException)
            {
                // Stopped before a request came.
            }
        }
    }
}
