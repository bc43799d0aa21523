namespace Streams.Actors.Domain;

/// <summary>Media-type rules: comparisons ignore case and parameters, JSON mode is by media type.</summary>
public static class ContentTypes
{
    public const string Default = "application/octet-stream";
    public const string Json = "application/json";

    public static string MediaType(string contentType)
    {
        var semicolon = contentType.IndexOf(';');
        var mediaType = semicolon < 0 ? contentType : contentType[..semicolon];
        return mediaType.Trim().ToLowerInvariant();
    }

    public static bool SameMediaType(string left, string right) =>
        string.Equals(MediaType(left), MediaType(right), StringComparison.Ordinal);

    public static bool IsJson(string contentType) => MediaType(contentType) == Json;

    /// <summary>SSE sends text and JSON as UTF-8 lines and everything else as base64.</summary>
    public static bool IsTextual(string contentType)
    {
        var mediaType = MediaType(contentType);
        return mediaType == Json || mediaType.StartsWith("text/", StringComparison.Ordinal);
    }
}
