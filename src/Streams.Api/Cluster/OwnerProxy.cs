using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http.Features;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Api.Http;

namespace Streams.Api.Cluster;

internal enum ForwardOutcome
{
    /// <summary>The owner's answer was passed on to the client.</summary>
    Answered,

    /// <summary>The owner did not take the request (connection refused, or "moving"): ask for the owner again.</summary>
    NotTaken,
}

/// <summary>
/// Forwards one HTTP request to the node that owns its stream and streams the answer back: status,
/// headers and body bytes as the owner wrote them, flushed as they arrive (SSE, long-poll). Bodies
/// never pass through Akka remoting, whose frames are far smaller than an append or a read.
/// </summary>
internal sealed class OwnerProxy(HttpClient client, StreamsNode node, ILogger<OwnerProxy> logger)
{
    /// <summary>Connection-level headers: they describe one hop, not the request.</summary>
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
    };

    public async Task<ForwardOutcome> ForwardAsync(HttpContext context, StreamOwner owner, CancellationToken cancellationToken)
    {
        using var message = BuildRequest(context, owner);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException exception) when (IsSafeToRetry(context, exception))
        {
            logger.LogDebug("Owner {Owner} not reachable ({Reason}); asking for the owner again", owner.NodeName, exception.Message);
            return ForwardOutcome.NotTaken;
        }
        catch (HttpRequestException exception)
        {
            // The owner may have applied a write before the connection broke: the client decides
            // (an idempotent producer's retry is answered as a duplicate).
            logger.LogWarning("Forwarding to {Owner} failed: {Reason}", owner.NodeName, exception.Message);
            await ResultMapping.WriteAsync(context, ErrorCode.Unavailable, "the stream's owner could not be reached; retry");
            return ForwardOutcome.Answered;
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.Contains(OwnerRouting.MovingHeader))
            {
                return ForwardOutcome.NotTaken;
            }

            await CopyResponseAsync(context, response, cancellationToken);
            return ForwardOutcome.Answered;
        }
    }

    private HttpRequestMessage BuildRequest(HttpContext context, StreamOwner owner)
    {
        var request = context.Request;
        // The raw target, exactly as the client escaped it: the owner decodes the name the same way.
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw
            ? raw
            : request.Path.ToUriComponent() + request.QueryString.ToUriComponent();
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(owner.HttpBaseUrl + rawTarget))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0 || request.ContentType is not null;
        if (hasBody)
        {
            // Not disposed with the message: the body stays readable for a retry after a move.
            message.Content = new StreamContent(new KeepOpenStream(request.Body));
            if (request.ContentLength is { } length)
            {
                message.Content.Headers.ContentLength = length;
            }
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        message.Headers.TryAddWithoutValidation(OwnerRouting.HopHeader, node.Name);
        return message;
    }

    private async Task CopyResponseAsync(HttpContext context, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var target = context.Response;
        target.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                target.Headers[name] = values.ToArray();
            }
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        // Each chunk is written (and so flushed) as it arrives: SSE events are not held back.
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        if (!IsEventStream(response))
        {
            await body.CopyToAsync(target.Body, cancellationToken);
            return;
        }

        // An event stream runs for minutes: when this node leaves, it ends as the node's own do at
        // SIGTERM (the client reconnects from its last offset, through a node that stays), rather
        // than hold the listener's shutdown back for the rest of its life.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, node.ListenerClosing);
        try
        {
            await body.CopyToAsync(target.Body, ended.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The listener closes: the event stream just ends here, as a local one does.
        }
    }

    private static bool IsEventStream(HttpResponseMessage response) =>
        response.Content.Headers.ContentType?.MediaType is "text/event-stream";

    /// <summary>
    /// Refused connections never reached the owner; reads may always be asked again; so may an
    /// append of an idempotent producer, which the owner applies once however often it arrives (a
    /// copy that did get applied is answered as the duplicate it is).
    /// </summary>
    private static bool IsSafeToRetry(HttpContext context, HttpRequestException exception) =>
        exception.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable } ||
        HttpMethods.IsGet(context.Request.Method) ||
        HttpMethods.IsHead(context.Request.Method) ||
        IsIdempotentProducerAppend(context.Request);

    private static bool IsIdempotentProducerAppend(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) &&
        request.Headers.ContainsKey(ProtocolHeaders.ProducerId) &&
        request.Headers.ContainsKey(ProtocolHeaders.ProducerEpoch) &&
        request.Headers.ContainsKey(ProtocolHeaders.ProducerSeq);

    /// <summary>Lets <see cref="StreamContent"/> read the request body without closing it.</summary>
    private sealed class KeepOpenStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
