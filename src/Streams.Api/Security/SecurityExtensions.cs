using Streams.Api.Http;

namespace Streams.Api.Security;

/// <summary>Registers authentication, the key file reloader and the CORS policy.</summary>
internal static class SecurityExtensions
{
    /// <summary>False (with <paramref name="problems"/> filled in) when the settings do not allow a start.</summary>
    public static bool TryAddSecurity(this IServiceCollection services, ServerOptions options, List<string> problems)
    {
        var settings = AuthSettings.From(options, Environment.GetEnvironmentVariable, problems);
        if (settings is null)
        {
            return false;
        }

        IReadOnlyList<ApiKey> keys;
        try
        {
            keys = settings.LoadKeys();
        }
        catch (FormatException exception)
        {
            problems.Add(exception.Message);
            return false;
        }

        services.AddSingleton(settings);
        services.AddSingleton(new ApiKeyRing(keys));
        services.AddSingleton(CorsPolicy.From(options.CorsOrigins, authEnabled: settings.Enabled));
        services.AddHostedService<KeyFileReloader>();
        return true;
    }
}
