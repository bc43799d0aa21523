using System.Security.Cryptography;
using System.Text;

namespace Streams.Actors.Domain;

/// <summary>Stable, path-safe identifiers derived from a stream's name.</summary>
public static class StreamNaming
{
    private const int HashBytes = 16;

    /// <summary>Lowercase hex of the first 16 bytes of SHA-256(UTF-8 name).</summary>
    public static string Hash(string streamName)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(streamName), digest);
        return Convert.ToHexStringLower(digest[..HashBytes]);
    }
}
