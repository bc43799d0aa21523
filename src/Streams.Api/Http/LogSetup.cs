namespace Streams.Api.Http;

/// <summary><c>--log-format</c>: the default console lines, or one JSON object per line with scopes.</summary>
internal static class LogSetup
{
    public const string JsonFormat = "json";

    public static ILoggingBuilder UseFormat(this ILoggingBuilder logging, string format)
    {
        if (format != JsonFormat)
        {
            return logging;
        }

        logging.ClearProviders();
        logging.AddJsonConsole(json =>
        {
            // Scopes carry the request id and the stream name (RequestLogScope).
            json.IncludeScopes = true;
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        return logging;
    }
}
