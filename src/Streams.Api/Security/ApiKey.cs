using System.Security.Cryptography;
using System.Text;

namespace Streams.Api.Security;

/// <summary>What a key may do: read (GET, HEAD, SSE, long-poll, details) or also write (PUT, POST, DELETE).</summary>
internal enum KeyAccess
{
    Read,
    ReadWrite,
}

/// <summary>
/// One accepted key, kept only as the SHA-256 of its UTF-8 bytes: every comparison is between two
/// 32-byte hashes, so it takes the same time whatever the key's length or content.
/// </summary>
/// <param name="Name">Shown in logs instead of the key.</param>
/// <param name="Prefix">Stream names the key covers; empty covers every stream and the node-wide routes.</param>
internal sealed record ApiKey(string Name, byte[] Sha256, KeyAccess Access, string Prefix)
{
    /// <summary>The shortest key accepted, as in the TypeScript original (<c>API_KEY</c>).</summary>
    public const int MinimumLength = 10;

    /// <summary>A key that covers every stream and the node-wide routes (listing, metrics).</summary>
    public bool CoversNode => Prefix.Length == 0;

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public bool Allows(KeyAccess needed) => needed == KeyAccess.Read || Access == KeyAccess.ReadWrite;

    public bool Covers(string streamName) => streamName.StartsWith(Prefix, StringComparison.Ordinal);
}
