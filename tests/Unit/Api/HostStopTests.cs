using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;
using Streams.Tests.Unit.TestSupport;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// The in-memory test server stops its host twice at once: through the application's own
/// shutdown wait and through the factory's dispose. A real deployment can meet the same when a
/// SIGTERM arrives while the host is already stopping. The drain must run once either way.
/// </summary>
public sealed class HostStopTests
{
    [Fact]
    public async Task Should_drain_once_and_completely_when_the_host_is_stopped_twice_at_once()
    {
        using var directory = new TempDataDirectory("host-stop");
        var messages = new ConcurrentQueue<string>();
        var root = new WebApplicationFactory<Program>();
        var factory = root.WithWebHostBuilder(builder => builder
            .UseSetting("Streams:DataDir", directory.Path)
            .ConfigureLogging(logging => logging.AddProvider(new DrainMessages(messages))));
        using (var client = factory.CreateClient())
        {
            using var created = await client.PutAsync("/v1/stream/stopped-twice", new StringContent("a", System.Text.Encoding.UTF8, "text/plain"));
            Assert.True(created.IsSuccessStatusCode, $"create answered {(int)created.StatusCode}");
        }

        await root.DisposeAsync();

        Assert.Single(messages, message => message.StartsWith("Draining:", StringComparison.Ordinal));
        Assert.Single(messages, message => message.StartsWith("Drain complete", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, message => message.StartsWith("Drain did not finish", StringComparison.Ordinal));
    }

    /// <summary>Keeps what the drain coordinator logs.</summary>
    private sealed class DrainMessages(ConcurrentQueue<string> messages) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName.EndsWith(".DrainCoordinator", StringComparison.Ordinal) ? new Collector(messages) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class Collector(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
