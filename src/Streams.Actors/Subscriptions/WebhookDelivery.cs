using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Sends signed webhook deliveries. Safe to call from any thread; the number of deliveries under
/// way at once is bounded (<c>max-in-flight-deliveries</c>) and each is bounded in time
/// (<c>delivery-timeout</c>), so a slow or dead receiver occupies one slot for a while and never
/// an actor: subscription owners pipe the outcome back to themselves. Connections go only to
/// addresses the <see cref="WebhookUrlPolicy"/> accepts at connect time.
/// </summary>
public sealed class WebhookDelivery : IDisposable
{
    public const string SignatureHeader = "Webhook-Signature";

    private readonly HttpClient client;
    private readonly SemaphoreSlim slots;
    private readonly WebhookSigningKeys keys;
    private readonly TimeProvider clock;
    private readonly TimeSpan timeout;

    public WebhookDelivery(WebhookSigningKeys keys, WebhookUrlPolicy policy, SubscriptionSettings settings, TimeProvider clock)
    {
        this.keys = keys;
        this.clock = clock;
        timeout = settings.DeliveryTimeout;
        slots = new SemaphoreSlim(settings.MaxInFlightDeliveries, settings.MaxInFlightDeliveries);
        var handler = new SocketsHttpHandler
        {
            // Redirects would lead the delivery to an address nobody checked.
            AllowAutoRedirect = false,
            UseProxy = false,
            ConnectTimeout = settings.DeliveryTimeout,
            ConnectCallback = (context, cancellationToken) => ConnectCheckedAsync(policy, context, cancellationToken),
        };
        client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="url"/>, signed; never throws for the receiver's failures.</summary>
    public async Task<DeliveryOutcome> DeliverAsync(string url, byte[] body, CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(timeout);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            // Signed at send time, so a retry carries a fresh timestamp within the receiver's window.
            request.Headers.TryAddWithoutValidation(SignatureHeader, keys.Sign(body, clock.GetUtcNow()));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, attempt.Token);
            if (!response.IsSuccessStatusCode)
            {
                return new DeliveryOutcome(false, false, $"the receiver answered {(int)response.StatusCode}");
            }

            var answer = await response.Content.ReadAsByteArrayAsync(attempt.Token);
            return new DeliveryOutcome(true, AnswerSaysDone(answer), null);
        }
        catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException or IOException)
        {
            var reason = exception is OperationCanceledException && !cancellationToken.IsCancellationRequested
                ? $"no answer within {timeout.TotalSeconds:0.#} s"
                : exception.Message;
            return new DeliveryOutcome(false, false, reason);
        }
        finally
        {
            slots.Release();
        }
    }

    public void Dispose()
    {
        client.Dispose();
        slots.Dispose();
    }

    /// <summary>A receiver that answers <c>{"done": true}</c> has handled the whole wake synchronously.</summary>
    private static bool AnswerSaysDone(byte[] answer)
    {
        if (answer.Length == 0)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(answer);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("done", out var done)
                && done.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            // Any other answer is an acknowledgement of receipt only; the receiver calls back later.
            return false;
        }
    }

    private static async ValueTask<Stream> ConnectCheckedAsync(WebhookUrlPolicy policy, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(address => policy.AddressProblem(address) is null).ToList();
        if (allowed.Count == 0 || allowed.Count != addresses.Length)
        {
            throw new HttpRequestException($"webhook host '{host}' resolves to an address deliveries may not reach");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed.ToArray(), context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary><paramref name="Delivered"/>: a 2xx answer. <paramref name="Done"/>: the answer was <c>{"done": true}</c>.</summary>
public sealed record DeliveryOutcome(bool Delivered, bool Done, string? Error);
