namespace Streams.Api.Http;

/// <summary>
/// Which browser origins may read responses. Without auth the server stays open to every origin
/// (<c>*</c>), as the protocol's browser clients expect; with api-key auth no origin is allowed
/// unless listed, so a key pasted into one web page is not usable from every other.
/// </summary>
internal sealed class CorsPolicy
{
    private const string AnyOrigin = "*";

    private readonly HashSet<string> origins;
    private readonly bool any;

    private CorsPolicy(HashSet<string> origins, bool any)
    {
        this.origins = origins;
        this.any = any;
    }

    /// <param name="configured">Comma-separated origins (<c>https://app.example.com</c>) or <c>*</c>; null for the default.</param>
    public static CorsPolicy From(string? configured, bool authEnabled)
    {
        if (configured is null)
        {
            return new CorsPolicy([], any: !authEnabled);
        }

        var listed = configured
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(origin => origin.TrimEnd('/'))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        return new CorsPolicy(listed, any: listed.Remove(AnyOrigin));
    }

    /// <summary>The <c>Access-Control-Allow-Origin</c> value for a request from <paramref name="origin"/>, or null for none.</summary>
    public string? AllowedOrigin(string? origin) =>
        any ? AnyOrigin : origin is { Length: > 0 } && origins.Contains(origin) ? origin : null;

    /// <summary>True when the answer depends on the request's Origin, so caches must keep them apart.</summary>
    public bool VariesByOrigin => !any;
}
