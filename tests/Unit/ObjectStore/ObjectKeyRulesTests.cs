using System.Text;
using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

public sealed class ObjectKeyRulesTests
{
    [Fact]
    public void Should_order_keys_like_their_utf8_bytes_when_they_mix_ascii_bmp_and_astral_characters()
    {
        string[] keys = ["a", "a/b", "a-b", "a0", "é", "\uFF21", "😀", "\uE000", "z", "", "日本"];

        var byCodePoint = keys.Order(ObjectKeyRules.KeyOrder).ToList();
        var byUtf8Bytes = keys.OrderBy(key => Encoding.UTF8.GetBytes(key), Comparer<byte[]>.Create((left, right) => left.AsSpan().SequenceCompareTo(right))).ToList();

        Assert.Equal(byUtf8Bytes, byCodePoint);
        // Plain ordinal order would put the surrogate pair of U+1F600 before U+FF21.
        Assert.True(ObjectKeyRules.CompareKeys("\uFF21", "😀") < 0);
    }

    [Theory]
    [InlineData("streams/abc/manifest.json")]
    [InlineData("a")]
    [InlineData("dots.in.names/..hidden/x..y")]
    [InlineData("unicode/ключ/データ")]
    public void Should_accept_the_key_when_it_is_a_plain_relative_path(string key)
    {
        ObjectKeyRules.ValidateKey(key);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/etc/passwd", "starts with '/'")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/", "empty segment")]
    [InlineData("..", "'..' segment")]
    [InlineData("a/../../b", "'..' segment")]
    [InlineData("./a", "'.' segment")]
    [InlineData("a\\..\\b", "backslash")]
    [InlineData("a\0b", "NUL")]
    [InlineData("a\nb", "control character")]
    [InlineData("a/x.objstore-tmp", "reserved suffix")]
    public void Should_reject_the_key_with_the_reason_when_it_is_unsafe(string key, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => ObjectKeyRules.ValidateKey(key));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("streams/")]
    [InlineData("streams/ab")]
    [InlineData("streams/..partial")]
    public void Should_accept_the_prefix_when_only_its_last_segment_is_partial(string prefix)
    {
        ObjectKeyRules.ValidatePrefix(prefix);
    }

    [Theory]
    [InlineData("../")]
    [InlineData("/streams/")]
    [InlineData("streams//x")]
    [InlineData("a\\b")]
    public void Should_reject_the_prefix_when_a_complete_segment_is_unsafe(string prefix)
    {
        Assert.Throws<ArgumentException>(() => ObjectKeyRules.ValidatePrefix(prefix));
    }
}
