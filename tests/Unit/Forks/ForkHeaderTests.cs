using Streams.Api.Endpoints;
using Xunit;

namespace Streams.Tests.Unit.Forks;

public sealed class ForkHeaderTests
{
    [Theory]
    [InlineData("/v1/stream/src-1", "src-1")]
    [InlineData("/v1/stream/events/sync-1", "events/sync-1")]
    [InlineData("/v1/stream/a%2Fb%20c", "a/b c")]
    [InlineData("http://127.0.0.1:4437/v1/stream/src-1", "src-1")]
    public void Should_take_the_source_name_from_its_path_when_the_header_names_a_stream(string header, string expected)
    {
        Assert.True(StreamEndpoints.TryParseForkSource(header, out var name, out _));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("src-1")]
    [InlineData("/v1/stream/")]
    [InlineData("/v2/stream/src-1")]
    [InlineData("/v1/stream/a/../b")]
    [InlineData("file:///v1/stream/src-1")]
    public void Should_reject_the_source_header_when_it_is_not_a_stream_path(string header)
    {
        Assert.False(StreamEndpoints.TryParseForkSource(header, out _, out var problem));
        Assert.NotEmpty(problem);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("3", 3)]
    [InlineData("123456789", 123456789)]
    public void Should_accept_a_sub_offset_when_it_is_a_plain_non_negative_number(string header, long expected)
    {
        Assert.True(StreamEndpoints.TryParseSubOffset(header, out var subOffset));
        Assert.Equal(expected, subOffset);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("05")]
    [InlineData("+1")]
    [InlineData("")]
    [InlineData("99999999999999999999")]
    public void Should_reject_a_sub_offset_when_it_is_malformed(string header)
    {
        Assert.False(StreamEndpoints.TryParseSubOffset(header, out _));
    }
}
