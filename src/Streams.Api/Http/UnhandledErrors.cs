using Streams.Actors.Domain;

namespace Streams.Api.Http;

/// <summary>
/// The outermost middleware: whatever escapes an endpoint still ends as a JSON error. Kestrel
/// reports a broken request body (bad chunk, body shorter than its Content-Length, body too slow)
/// by throwing from the body read; left alone it answers with an empty 400/408. Anything else is
/// our bug: logged, and answered 500 internal_error without details.
/// </summary>
internal sealed class UnhandledErrors(RequestDelegate next, ILogger<UnhandledErrors> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away (a cancelled wait, a reset while reading): no one to answer.
            logger.LogDebug(exception, "Client left during {Method} {Path}", context.Request.Method, context.Request.Path);
        }
        catch (BadHttpRequestException exception)
        {
            logger.LogDebug(exception, "Malformed request {Method} {Path}", context.Request.Method, context.Request.Path);
            var code = exception.StatusCode switch
            {
                StatusCodes.Status408RequestTimeout => ErrorCode.RequestTimeout,
                StatusCodes.Status413PayloadTooLarge => ErrorCode.PayloadTooLarge,
                _ => ErrorCode.MalformedRequest,
            };
            await AnswerAsync(context, code, exception.Message);
        }
        catch (Exception exception)
        {
            logger.LogError(exception, "Unhandled failure in {Method} {Path}", context.Request.Method, context.Request.Path);
            await AnswerAsync(context, ErrorCode.Internal, "the server failed to handle the request");
        }
    }

    private static async Task AnswerAsync(HttpContext context, ErrorCode code, string message)
    {
        if (context.Response.HasStarted)
        {
            // Headers are out: the only honest signal left is to cut the connection.
            context.Abort();
            return;
        }

        // Drop whatever the endpoint had set (offsets, producer headers), keep the browser headers.
        context.Response.Clear();
        BrowserHeaders.Apply(context);
        await ResultMapping.WriteAsync(context, code, message);
    }
}
