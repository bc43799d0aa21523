using System.Security.Cryptography;

namespace Streams.Api.Security;

/// <summary>
/// The keys in force. Replaced whole on a reload (one reference swap), so a request sees either the
/// old set or the new one, never a mix.
/// </summary>
internal sealed class ApiKeyRing(IReadOnlyList<ApiKey> keys)
{
    private volatile IReadOnlyList<ApiKey> keys = keys;

    public int Count => keys.Count;

    /// <summary>
    /// The key matching <paramref name="presented"/>, or null. Every key is compared, in constant
    /// time, even after a match: how long this takes says nothing about which key (or how much of
    /// one) matched.
    /// </summary>
    public ApiKey? Find(string presented)
    {
        var hash = ApiKey.Hash(presented);
        ApiKey? match = null;
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(key.Sha256, hash) && match is null)
            {
                match = key;
            }
        }

        return match;
    }

    public void Replace(IReadOnlyList<ApiKey> replacement) => keys = replacement;
}
