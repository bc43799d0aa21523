namespace Streams.Api.Security;

/// <summary>How requests are authenticated, decided once at start-up from the flags and <c>API_KEY</c>.</summary>
/// <param name="Enabled">True with <c>--auth-strategy api-key</c>.</param>
/// <param name="PrimaryKey">The original's single full-access key, from <c>API_KEY</c>; null when only a key file is used.</param>
/// <param name="KeyFile">The file of additional, scoped keys; null when there is none.</param>
/// <param name="HealthRequiresAuth">Whether <c>/health</c> and <c>/ready</c> need a key too.</param>
internal sealed record AuthSettings(bool Enabled, ApiKey? PrimaryKey, string? KeyFile, bool HealthRequiresAuth)
{
    /// <summary>The environment variable holding the full-access key, as in the TypeScript original.</summary>
    public const string ApiKeyVariable = "API_KEY";

    public static AuthSettings? From(ServerOptions options, Func<string, string?> environment, List<string> problems)
    {
        if (options.AuthStrategy != "api-key")
        {
            return new AuthSettings(Enabled: false, PrimaryKey: null, KeyFile: null, options.HealthRequiresAuth);
        }

        // Not trimmed: a key with a trailing space is that key, as in the original.
        var secret = environment(ApiKeyVariable);
        ApiKey? primary = null;
        if (!string.IsNullOrEmpty(secret))
        {
            if (secret.Length < ApiKey.MinimumLength)
            {
                problems.Add($"{ApiKeyVariable} must be at least {ApiKey.MinimumLength} characters long");
                return null;
            }

            primary = new ApiKey(ApiKeyVariable, ApiKey.Hash(secret), KeyAccess.ReadWrite, Prefix: string.Empty);
        }
        else if (options.ApiKeyFile is null)
        {
            problems.Add($"--auth-strategy api-key needs the {ApiKeyVariable} environment variable (at least {ApiKey.MinimumLength} characters) or --api-key-file");
            return null;
        }

        var keyFile = options.ApiKeyFile is { } file ? Path.GetFullPath(file) : null;
        return new AuthSettings(Enabled: true, primary, keyFile, options.HealthRequiresAuth);
    }

    /// <summary>The primary key followed by the file's keys; throws <see cref="FormatException"/> for a bad file.</summary>
    public IReadOnlyList<ApiKey> LoadKeys()
    {
        var keys = new List<ApiKey>();
        if (PrimaryKey is { } primary)
        {
            keys.Add(primary);
        }

        if (KeyFile is { } file)
        {
            keys.AddRange(ApiKeyFile.Load(file));
        }

        return keys;
    }
}
