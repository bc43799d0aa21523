using System.Security.Cryptography;

namespace Streams.Actors.Storage.Segments;

/// <summary>
/// The whole-file checksum recorded for a segment in the manifest: lowercase hex SHA-256 of the
/// file's bytes (64 characters).
/// </summary>
/// <remarks>
/// Blocks already carry CRC-32C against accidental corruption; the whole-file digest is there to
/// identify contents, so it should be collision resistant, which a 32-bit CRC is not.
/// </remarks>
public static class SegmentChecksum
{
    public static string Compute(ReadOnlySpan<byte> segmentBytes) =>
        Convert.ToHexStringLower(SHA256.HashData(segmentBytes));
}
