using Streams.Actors.Domain;

namespace Streams.Api.Security;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> on every request when api-key auth is on, as in the
/// TypeScript original: the scheme ignores case, the credential is everything after "Bearer " and
/// is not trimmed. A missing or unknown key gets 401 (the body never says which); a known key
/// outside its scope gets 403. Health checks stay open unless configured otherwise; CORS preflights
/// are answered before this runs, since browsers never send credentials on them.
/// </summary>
internal sealed class ApiKeyAuthentication(RequestDelegate next, AuthSettings settings, ApiKeyRing ring, ILogger<ApiKeyAuthentication> logger)
{
    private const string Scheme = "Bearer ";

    /// <summary>The name of the key a request authenticated with (never the key); for logs.</summary>
    public const string KeyNameItem = "streams.api-key-name";

    private static readonly string[] HealthPaths = ["/health", "/ready"];

    public Task InvokeAsync(HttpContext context)
    {
        if (!settings.Enabled || (!settings.HealthRequiresAuth && IsHealthCheck(context.Request.Path)))
        {
            return next(context);
        }

        var header = context.Request.Headers.Authorization;
        var value = header.Count == 1 ? header[0] : null;
        if (value is null || value.Length <= Scheme.Length || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return Unauthorized(context);
        }

        var key = ring.Find(value[Scheme.Length..]);
        if (key is null)
        {
            return Unauthorized(context);
        }

        context.Items[KeyNameItem] = key.Name;
        if (AccessRules.Refusal(context, key) is { } refusal)
        {
            logger.LogInformation("Refused {Method} {Path} for key {KeyName}: {Refusal}", context.Request.Method, context.Request.Path, key.Name, refusal);
            return ResultMapping.WriteAsync(context, ErrorCode.Forbidden, refusal);
        }

        return next(context);
    }

    private static bool IsHealthCheck(PathString path) =>
        HealthPaths.Any(health => path.Equals(health, StringComparison.OrdinalIgnoreCase));

    private static Task Unauthorized(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return ResultMapping.WriteAsync(context, ErrorCode.Unauthorized, "unauthorized");
    }
}
