using System.Text;
using Streams.Actors.Storage.Segments;
using Xunit;

namespace Streams.Tests.Unit.Storage.Segments;

public sealed class Crc32CTests
{
    private const int VectorLength = 32;

    [Fact]
    public void Should_match_the_standard_check_value_when_input_is_123456789()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void Should_be_zero_when_input_is_empty()
    {
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    // Test vectors from the iSCSI specification (RFC 3720, appendix B.4).
    [Theory]
    [InlineData("zeros", 0x8A9136AAu)]
    [InlineData("ones", 0x62A8AB43u)]
    [InlineData("ascending", 0x46DD794Eu)]
    [InlineData("descending", 0x113FDB5Cu)]
    public void Should_match_the_iscsi_vectors_when_input_is_32_bytes(string pattern, uint expected)
    {
        var input = new byte[VectorLength];
        for (var i = 0; i < VectorLength; i++)
        {
            input[i] = pattern switch
            {
                "zeros" => 0x00,
                "ones" => 0xFF,
                "ascending" => (byte)i,
                "descending" => (byte)(VectorLength - 1 - i),
                _ => throw new ArgumentOutOfRangeException(nameof(pattern)),
            };
        }

        Assert.Equal(expected, Crc32C.Compute(input));
    }

    [Fact]
    public void Should_match_the_known_value_when_input_is_a_pangram()
    {
        Assert.Equal(0x22620404u, Crc32C.Compute(Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog")));
    }
}
