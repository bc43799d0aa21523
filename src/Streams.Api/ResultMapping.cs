using System.Globalization;
using System.Text.Json;
using Streams.Actors.Domain;
using Streams.Api.Http;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api;

/// <summary>The one place where a business failure becomes an HTTP response.</summary>
internal static class ResultMapping
{
    private const int RetryAfterSeconds = 1;

    public static (int Status, string Code) Map(ErrorCode code) => code switch
    {
        ErrorCode.StreamNotFound => (StatusCodes.Status404NotFound, "stream_not_found"),
        ErrorCode.StreamGone => (StatusCodes.Status410Gone, "stream_gone"),
        ErrorCode.StreamSoftDeleted => (StatusCodes.Status409Conflict, "stream_soft_deleted"),
        ErrorCode.StreamAlreadyExistsWithDifferentConfig => (StatusCodes.Status409Conflict, "stream_config_mismatch"),
        ErrorCode.StreamClosed => (StatusCodes.Status409Conflict, "stream_closed"),
        ErrorCode.ContentTypeMismatch => (StatusCodes.Status409Conflict, "content_type_mismatch"),
        ErrorCode.StreamSeqRegression => (StatusCodes.Status409Conflict, "stream_seq_regression"),
        ErrorCode.ProducerEpochStale => (StatusCodes.Status403Forbidden, "producer_epoch_stale"),
        ErrorCode.ProducerSeqGap => (StatusCodes.Status409Conflict, "producer_seq_gap"),
        ErrorCode.ProducerEpochRequiresSeqZero => (StatusCodes.Status400BadRequest, "producer_epoch_requires_seq_zero"),
        ErrorCode.InvalidJson => (StatusCodes.Status400BadRequest, "invalid_json"),
        ErrorCode.EmptyJsonArray => (StatusCodes.Status400BadRequest, "empty_json_array"),
        ErrorCode.EmptyBody => (StatusCodes.Status400BadRequest, "empty_body"),
        ErrorCode.InvalidHeader => (StatusCodes.Status400BadRequest, "invalid_header"),
        ErrorCode.InvalidOffset => (StatusCodes.Status400BadRequest, "invalid_offset"),
        ErrorCode.OffsetInLostTail => (StatusCodes.Status410Gone, "offset_lost"),
        ErrorCode.PayloadTooLarge => (StatusCodes.Status413PayloadTooLarge, "payload_too_large"),
        ErrorCode.Backpressure => (StatusCodes.Status429TooManyRequests, "backpressure"),
        ErrorCode.Unavailable => (StatusCodes.Status503ServiceUnavailable, "unavailable"),
        ErrorCode.Timeout => (StatusCodes.Status503ServiceUnavailable, "timeout"),
        ErrorCode.StreamMoving => (StatusCodes.Status503ServiceUnavailable, "stream_moving"),
        ErrorCode.MethodNotAllowed => (StatusCodes.Status405MethodNotAllowed, "method_not_allowed"),
        ErrorCode.NotImplemented => (StatusCodes.Status501NotImplemented, "not_implemented"),
        ErrorCode.InvalidStreamName => (StatusCodes.Status400BadRequest, "invalid_stream_name"),
        ErrorCode.RouteNotFound => (StatusCodes.Status404NotFound, "not_found"),
        ErrorCode.MalformedRequest => (StatusCodes.Status400BadRequest, "malformed_request"),
        ErrorCode.RequestTimeout => (StatusCodes.Status408RequestTimeout, "request_timeout"),
        ErrorCode.Internal => (StatusCodes.Status500InternalServerError, "internal_error"),
        ErrorCode.Unauthorized => (StatusCodes.Status401Unauthorized, "unauthorized"),
        ErrorCode.Forbidden => (StatusCodes.Status403Forbidden, "forbidden"),
        ErrorCode.Overloaded => (StatusCodes.Status503ServiceUnavailable, "overloaded"),
        _ => (StatusCodes.Status500InternalServerError, "internal_error"),
    };

    public static Task WriteAsync(HttpContext context, StreamRejected rejection)
    {
        if (rejection.Code == ErrorCode.StreamMoving)
        {
            // In a cluster the request goes to the stream's new owner instead, when it still can.
            Cluster.OwnerRouting.OnMoving(context);
        }

        var (status, code) = Map(rejection.Code);
        var response = context.Response;
        response.StatusCode = status;
        var headers = response.Headers;
        if (rejection.Closed)
        {
            headers[ProtocolHeaders.Closed] = "true";
        }

        if (rejection.NextOffset is { } next)
        {
            headers[ProtocolHeaders.NextOffset] = next.ToString();
        }

        if (rejection.ProducerEpoch is { } epoch)
        {
            headers[ProtocolHeaders.ProducerEpoch] = epoch.ToString(CultureInfo.InvariantCulture);
        }

        if (rejection.ExpectedSeq is { } expected)
        {
            headers[ProtocolHeaders.ProducerExpectedSeq] = expected.ToString(CultureInfo.InvariantCulture);
        }

        if (rejection.ReceivedSeq is { } received)
        {
            headers[ProtocolHeaders.ProducerReceivedSeq] = received.ToString(CultureInfo.InvariantCulture);
        }

        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        headers.CacheControl = "no-store";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return Task.CompletedTask;
        }

        response.ContentType = "application/json";
        return response.WriteAsync(ErrorBody(code, rejection.Message), context.RequestAborted);
    }

    public static Task WriteAsync(HttpContext context, ErrorCode code, string message) =>
        WriteAsync(context, new StreamRejected(code, message));

    private static string ErrorBody(string code, string message) =>
        JsonSerializer.Serialize(new ErrorEnvelope(new ErrorDetail(code, message)), ErrorJsonContext.Default.ErrorEnvelope);
}

internal sealed record ErrorEnvelope(ErrorDetail Error);

internal sealed record ErrorDetail(string Code, string Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class ErrorJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
