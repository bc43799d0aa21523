using System.IO.Hashing;

namespace Streams.Actors.Storage.Segments;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF).
/// </summary>
/// <remarks>
/// A thin wrapper so the segment code names the checksum it means in one place. The work is done
/// by System.IO.Hashing's parameterised <see cref="Crc32"/>, which is vectorised.
/// </remarks>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) =>
        Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);
}
