using System.Globalization;
using System.Text.Json;

namespace Streams.Api.Security;

/// <summary>
/// Reads the key file (format in docs/security.md):
/// <code>
/// { "keys": [ { "name": "ingest", "key": "...", "access": "read-write", "prefix": "tenant-a/" },
///             { "name": "dashboard", "sha256": "&lt;64 hex digits&gt;", "access": "read" } ] }
/// </code>
/// Each entry has exactly one of <c>key</c> (at least 10 characters, not trimmed) or <c>sha256</c>
/// (the SHA-256 of the key's UTF-8 bytes, so the file need not hold the key itself).
/// </summary>
internal static class ApiKeyFile
{
    private const int Sha256HexLength = 64;

    /// <summary>The keys in <paramref name="path"/>; throws <see cref="FormatException"/> naming the problem.</summary>
    public static IReadOnlyList<ApiKey> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"the key file {path} cannot be read: {exception.Message}", exception);
        }

        return Parse(text, path);
    }

    public static IReadOnlyList<ApiKey> Parse(string text, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException exception)
        {
            throw new FormatException($"the key file {source} is not valid JSON: {exception.Message}", exception);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty("keys", out var entries) ||
                entries.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"the key file {source} must be an object with a \"keys\" array");
            }

            var keys = new List<ApiKey>();
            var index = 0;
            foreach (var entry in entries.EnumerateArray())
            {
                keys.Add(ParseEntry(entry, $"{source}: keys[{index}]"));
                index++;
            }

            return keys;
        }
    }

    private static ApiKey ParseEntry(JsonElement entry, string where)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{where} is not an object");
        }

        var name = OptionalString(entry, "name", where) ?? where;
        var key = OptionalString(entry, "key", where);
        var sha256 = OptionalString(entry, "sha256", where);
        var access = OptionalString(entry, "access", where) switch
        {
            "read" => KeyAccess.Read,
            "read-write" => KeyAccess.ReadWrite,
            var other => throw new FormatException($"{where}: \"access\" must be \"read\" or \"read-write\", not {(other is null ? "missing" : $"'{other}'")}"),
        };
        var prefix = OptionalString(entry, "prefix", where) ?? string.Empty;

        byte[] hash;
        if (key is not null && sha256 is null)
        {
            if (key.Length < ApiKey.MinimumLength)
            {
                throw new FormatException($"{where}: the key is shorter than {ApiKey.MinimumLength} characters");
            }

            hash = ApiKey.Hash(key);
        }
        else if (sha256 is not null && key is null)
        {
            if (sha256.Length != Sha256HexLength || !sha256.All(char.IsAsciiHexDigit))
            {
                throw new FormatException($"{where}: \"sha256\" must be {Sha256HexLength} hex digits");
            }

            hash = Convert.FromHexString(sha256);
        }
        else
        {
            throw new FormatException($"{where}: give exactly one of \"key\" and \"sha256\"");
        }

        return new ApiKey(name, hash, access, prefix);
    }

    private static string? OptionalString(JsonElement entry, string property, string where)
    {
        if (!entry.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{where}: \"{property}\" must be a string"));
    }
}
