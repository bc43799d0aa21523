using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Streams.Actors.Config;
using Xunit;

namespace Streams.Tests.Unit.Api;

/// <summary>
/// Every deployment setting documented as overriding an engine (HOCON) key reaches the engine's
/// settings when the real application starts.
/// </summary>
public sealed class SettingsOverrideTests : IAsyncLifetime
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), $"streams-settings-{Guid.NewGuid():N}");
    private WebApplicationFactory<Program>? factory;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (factory is not null)
        {
            await factory.DisposeAsync();
        }

        if (Directory.Exists(dataDirectory))
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public void Should_apply_every_engine_override_when_the_server_starts()
    {
        var settings = Start(new Dictionary<string, string>
        {
            ["Streams:LongPollTimeoutMs"] = "1234",
            ["Streams:MaxAppendBytes"] = "4321",
            ["Streams:SegmentTargetRows"] = "77",
            ["Streams:SegmentMaxAgeMs"] = "555",
            ["Streams:RestoreParallelism"] = "3",
            ["Streams:Hocon"] = "streams.max-append-messages = 12\nstreams.upload.parallelism = 2",
        });

        Assert.Equal(TimeSpan.FromMilliseconds(1234), settings.LongPollTimeout);
        Assert.Equal(4321, settings.MaxAppendBytes);
        Assert.Equal(77, settings.SegmentTargetRows);
        Assert.Equal(TimeSpan.FromMilliseconds(555), settings.SegmentMaxAge);
        Assert.Equal(3, settings.RestoreParallelism);
        Assert.Equal(12, settings.MaxAppendMessages);
        Assert.Equal(2, settings.UploadParallelism);
    }

    [Fact]
    public void Should_keep_the_embedded_defaults_when_nothing_overrides_them()
    {
        var settings = Start(new Dictionary<string, string>());

        Assert.Equal(StreamsSettings.Default, settings);
    }

    private StreamsSettings Start(Dictionary<string, string> configuration)
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            host.UseSetting("Streams:DataDir", dataDirectory);
            foreach (var (key, value) in configuration)
            {
                host.UseSetting(key, value);
            }
        });
        return factory.Services.GetRequiredService<StreamsSettings>();
    }
}
