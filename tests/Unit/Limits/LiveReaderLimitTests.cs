using System.Net;
using Streams.Tests.Unit.Api;
using Streams.Tests.Unit.Support;
using Xunit;

namespace Streams.Tests.Unit.Limits;

/// <summary>
/// <c>streams.limits.live-readers-per-stream</c> and <c>-per-node</c>: a live read over a limit gets
/// 503 overloaded with Retry-After at once, while other requests keep working.
/// </summary>
public sealed class LiveReaderLimitTests
{
    private static readonly TimeSpan ParkedFor = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("Streams:MaxLiveReaders", "first", "second")]
    public async Task Should_answer_503_overloaded_with_retry_after_when_a_live_reader_limit_is_full(string setting, string parkedStream, string refusedStream)
    {
        await using var host = new ApiHost(new Dictionary<string, string>
        {
            [setting] = "1",
            ["Streams:LongPollTimeoutMs"] = ((int)ParkedFor.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        foreach (var name in new[] { parkedStream, refusedStream }.Distinct())
        {
            using var created = await host.Client.PutAsync($"/v1/stream/{name}", new StringContent("x"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var leave = new CancellationTokenSource();
        var parked = host.Client.GetAsync($"/v1/stream/{parkedStream}?offset=now&live=long-poll", leave.Token);
        // A positive signal that the first reader holds the slot before anyone else asks for one.
        await Eventually.AssertAsync(async () =>
        {
            var details = await host.Client.GetStringAsync($"/v1/stream/{parkedStream}/_details");
            Assert.Contains("\"live_readers\":1", details, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(10));

        // The first reader holds the only slot once it has reached the server; until then the
        // second may still get in (and is then answered 204 after the wait), so ask until refused.
        HttpResponseMessage refused;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                refused = await host.Client.GetAsync($"/v1/stream/{refusedStream}?offset=now&live=long-poll", attempt.Token);
                if (refused.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }

                refused.Dispose();
            }
            catch (OperationCanceledException)
            {
                // Got in before the first reader was counted: it waits; ask again.
            }

            Assert.True(DateTime.UtcNow < deadline, "no live read was refused while the limit was full");
        }

        using (refused)
        {
            await JsonErrorAssert.IsAsync(refused, HttpStatusCode.ServiceUnavailable, "overloaded");
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        }

        using (var catchUp = await host.Client.GetAsync($"/v1/stream/{refusedStream}?offset=-1"))
        {
            Assert.Equal(HttpStatusCode.OK, catchUp.StatusCode);
        }

        Assert.False(parked.IsCompleted, "the first live reader is still parked");
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parked);
    }

    [Fact]
    public async Task Should_answer_503_overloaded_when_a_second_live_reader_of_one_stream_arrives_over_the_per_stream_limit()
    {
        // The real server process: one parked long-poll holds the stream's only slot.
        using var directory = new TestDirectory("live-reader-limit");
        await using var server = await ServerProcess.StartAsync(
            directory.Combine("data"),
            ["--max-live-readers-per-stream", "1", "--long-poll-timeout-ms", ((int)ParkedFor.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using (var created = await server.Client.PutAsync("/v1/stream/limited", new StringContent("x")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var leave = new CancellationTokenSource();
        var parked = server.Client.GetAsync("/v1/stream/limited?offset=now&live=long-poll", leave.Token);
        // A positive signal that the first reader holds the slot: the owner reports it parked.
        await Eventually.AssertAsync(async () =>
        {
            var details = await server.Client.GetStringAsync("/v1/stream/limited/_details");
            Assert.Contains("\"live_readers\":1", details, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(10));

        var refused = await server.Client.GetAsync("/v1/stream/limited?offset=now&live=long-poll");
        using (refused)
        {
            await JsonErrorAssert.IsAsync(refused, HttpStatusCode.ServiceUnavailable, "overloaded");
            Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        }

        if (parked.IsCompleted)
        {
            using var ended = await parked;
            Assert.Fail($"the first live reader is no longer parked: {(int)ended.StatusCode} {await ended.Content.ReadAsStringAsync()} {ended.Headers}");
        }
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => parked);
    }
}
