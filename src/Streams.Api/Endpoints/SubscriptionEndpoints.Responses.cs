using System.Globalization;
using System.Text.Json;
using Streams.Actors.Subscriptions;
using static Streams.Actors.Subscriptions.SubscriptionReplies;

namespace Streams.Api.Endpoints;

/// <summary>The one place where a subscription reply becomes an HTTP response.</summary>
internal static partial class SubscriptionEndpoints
{
    private const string JsonContentType = "application/json";

    private static Task WriteReplyAsync(HttpContext context, object reply) => reply switch
    {
        SubscriptionSaved saved => WriteJsonAsync(
            context,
            saved.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK,
            WakePayloads.Write(writer => WriteSubscription(writer, saved.Subscription))),
        SubscriptionFound found => WriteJsonAsync(context, StatusCodes.Status200OK, WakePayloads.Write(writer => WriteSubscription(writer, found.Subscription))),
        SubscriptionChanged => NoContentAsync(context),
        WakeAcknowledged acknowledged => WriteJsonAsync(context, StatusCodes.Status200OK, WakePayloads.Write(writer =>
        {
            writer.WriteBoolean("ok", true);
            writer.WriteBoolean("next_wake", acknowledged.NextWake);
        })),
        WakeClaimed claimed => WriteJsonAsync(context, StatusCodes.Status200OK, WakePayloads.Write(writer =>
        {
            writer.WriteString("wake_id", claimed.WakeId);
            writer.WriteNumber("generation", claimed.Generation);
            writer.WriteString("token", claimed.Token);
            writer.WritePropertyName("streams");
            WakePayloads.WriteStreams(writer, claimed.Streams, withTails: true);
            writer.WriteNumber("lease_ttl_ms", claimed.LeaseTtlMs);
        })),
        SubscriptionRejected rejected => WriteRejectionAsync(context, rejected),
        _ => WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "INTERNAL_ERROR", "unexpected reply from the subscription"),
    };

    private static void WriteSubscription(Utf8JsonWriter writer, SubscriptionView view)
    {
        var spec = view.Spec;
        writer.WriteString("id", view.Id);
        writer.WriteString("subscription_id", view.Id);
        writer.WriteString("type", SubscriptionSpec.TypeName(spec.Type));
        if (spec.Pattern is { } pattern)
        {
            writer.WriteString("pattern", pattern);
        }

        writer.WritePropertyName("streams");
        WakePayloads.WriteStreams(writer, view.Streams, withTails: false);
        if (spec.WebhookUrl is { } url)
        {
            writer.WriteStartObject("webhook");
            writer.WriteString("url", url);
            writer.WriteStartObject("signing");
            writer.WriteString("alg", "ed25519");
            // The key of the node that signs this subscription's deliveries, not of the node answering.
            writer.WriteString("kid", view.SigningKeyId);
            writer.WriteString("jwks_url", $"{view.PublicBaseUrl}{ReservedPrefix}jwks.json");
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        if (spec.WakeStream is { } wakeStream)
        {
            writer.WriteString("wake_stream", wakeStream);
        }

        writer.WriteNumber("lease_ttl_ms", spec.LeaseTtlMs);
        writer.WriteString("created_at", view.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        writer.WriteString("status", view.Failed ? "failed" : "active");
        if (spec.Description is { } description)
        {
            writer.WriteString("description", description);
        }
    }

    private static Task WriteRejectionAsync(HttpContext context, SubscriptionRejected rejected)
    {
        var (status, code) = rejected.Code switch
        {
            SubscriptionErrorCode.InvalidRequest => (StatusCodes.Status400BadRequest, "INVALID_REQUEST"),
            SubscriptionErrorCode.WebhookUrlRejected => (StatusCodes.Status400BadRequest, "WEBHOOK_URL_REJECTED"),
            SubscriptionErrorCode.NotFound => (StatusCodes.Status404NotFound, "SUBSCRIPTION_NOT_FOUND"),
            SubscriptionErrorCode.AlreadyExists => (StatusCodes.Status409Conflict, "SUBSCRIPTION_ALREADY_EXISTS"),
            SubscriptionErrorCode.Fenced => (StatusCodes.Status409Conflict, "FENCED"),
            SubscriptionErrorCode.AlreadyClaimed => (StatusCodes.Status409Conflict, "ALREADY_CLAIMED"),
            SubscriptionErrorCode.NoPendingWork => (StatusCodes.Status409Conflict, "NO_PENDING_WORK"),
            SubscriptionErrorCode.InvalidOffset => (StatusCodes.Status409Conflict, "INVALID_OFFSET"),
            SubscriptionErrorCode.TokenInvalid => (StatusCodes.Status401Unauthorized, "TOKEN_INVALID"),
            _ => (StatusCodes.Status503ServiceUnavailable, "UNAVAILABLE"),
        };
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        return WriteJsonAsync(context, status, ErrorBody(code, rejected.Message, rejected.CurrentHolder, rejected.Generation));
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string code, string message) =>
        WriteJsonAsync(context, status, ErrorBody(code, message, currentHolder: null, generation: null));

    /// <summary><c>{"error": {"code", "message"[, "current_holder", "generation"]}}</c>.</summary>
    private static byte[] ErrorBody(string code, string message, string? currentHolder, long? generation) =>
        WakePayloads.Write(writer =>
        {
            writer.WriteStartObject("error");
            writer.WriteString("code", code);
            writer.WriteString("message", message);
            if (currentHolder is not null)
            {
                writer.WriteString("current_holder", currentHolder);
            }

            if (generation is { } value)
            {
                writer.WriteNumber("generation", value);
            }

            writer.WriteEndObject();
        });

    private static Task WriteJsonAsync(HttpContext context, int status, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = JsonContentType;
        response.Headers.CacheControl = "no-store";
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    private static Task NoContentAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        context.Response.Headers.CacheControl = "no-store";
        return Task.CompletedTask;
    }
}
