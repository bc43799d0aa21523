using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Streams.Tests.Unit.Subscriptions;

/// <summary>
/// A real webhook receiver: Kestrel on a loopback port chosen up front, so a test can hand the URL
/// to a subscription while nothing listens there yet and start listening later. It records every
/// delivery (raw body and signature header) and answers with <c>{"done": true}</c> or <c>{}</c>.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly int port;
    private readonly bool answerDone;
    private WebApplication? app;

    public WebhookReceiver(bool answerDone)
    {
        this.answerDone = answerDone;
        port = ServerProcess.FreeLoopbackPort();
    }

    public string Url => $"http://127.0.0.1:{port}/webhook";

    public ConcurrentQueue<Delivery> Deliveries { get; } = new();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/webhook", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            Deliveries.Enqueue(new Delivery(buffer.ToArray(), context.Request.Headers["Webhook-Signature"].ToString()));
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answerDone ? "{\"done\":true}" : "{}");
        });
        await app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public sealed record Delivery(byte[] Body, string Signature)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();
    }
}
