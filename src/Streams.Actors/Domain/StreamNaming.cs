using System.Security.Cryptography;
using System.Text;

namespace Streams.Actors.Domain;

/// <summary>
/// The one stable, path-safe identifier derived from a stream's name: its actor's name, its local
/// segment directory and its object keys.
/// </summary>
public static class StreamNaming
{
    /// <summary>The length of <see cref="Hash"/>: 32 lowercase hex characters.</summary>
    public const int HashLength = HashBytes * 2;

    // Hashing the name keeps identifiers short, fixed-length and free of characters that object
    // stores, file systems or actor paths treat specially, whatever the stream name contains;
    // 16 bytes leaves collisions out of reach for any realistic number of streams.
    private const int HashBytes = 16;

    /// <summary>Lowercase hex of the first 16 bytes of SHA-256(UTF-8 name).</summary>
    public static string Hash(string streamName)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(streamName), digest);
        return Convert.ToHexStringLower(digest[..HashBytes]);
    }
}
