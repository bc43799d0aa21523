using Streams.Actors.Subscriptions;
using Xunit;

namespace Streams.Tests.Unit.Subscriptions;

public sealed class StreamGlobTests
{
    [Theory]
    [InlineData("events/*", "events/a", true)]
    [InlineData("events/*", "events/a/b", false)]
    [InlineData("events/*", "events", false)]
    [InlineData("events/**", "events", true)]
    [InlineData("events/**", "events/a/b/c", true)]
    [InlineData("**/audit", "audit", true)]
    [InlineData("**/audit", "x/y/audit", true)]
    [InlineData("**/audit", "x/y/audit2", false)]
    [InlineData("events/sync-*", "events/sync-123", true)]
    [InlineData("events/sync-*", "events/callback-1", false)]
    [InlineData("a/**/z", "a/z", true)]
    [InlineData("a/**/z", "a/b/c/z", true)]
    [InlineData("a/*/z", "a/b/c/z", false)]
    [InlineData("exact/name", "exact/name", true)]
    [InlineData("exact/name", "exact/names", false)]
    public void Should_match_one_segment_for_a_star_and_any_number_for_a_double_star(string pattern, string name, bool expected) =>
        Assert.Equal(expected, StreamGlob.IsMatch(pattern, name));

    [Fact]
    public void Should_stay_fast_when_a_pattern_repeats_double_stars_against_a_deep_name()
    {
        var pattern = string.Join('/', Enumerable.Repeat("**", 60)) + "/never";
        var name = string.Join('/', Enumerable.Repeat("s", 500));
        // Dynamic programming: quadratic, not exponential, so this returns at once.
        Assert.False(StreamGlob.IsMatch(pattern, name));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/x**/b", "whole segment")]
    public void Should_name_the_problem_when_a_pattern_is_unusable(string pattern, string expected) =>
        Assert.Contains(expected, StreamGlob.Problem(pattern, maxLength: 256));

    [Fact]
    public void Should_refuse_a_pattern_longer_than_the_limit() =>
        Assert.Contains("longer than 256", StreamGlob.Problem(new string('a', 257), maxLength: 256));
}
