using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Storage;

namespace Streams.Actors.Hosting;

/// <summary>Wires the engine into a host: local index, WAL writer, actor system, gateway.</summary>
public static class StreamsHostingExtensions
{
    public static IServiceCollection AddStreams(this IServiceCollection services, StreamsEngineOptions options)
    {
        var hocon = options.HoconOverrides is { Length: > 0 } overrides
            ? Akka.Configuration.ConfigurationFactory.ParseString(overrides).WithFallback(StreamsSettings.DefaultConfig())
            : StreamsSettings.DefaultConfig();
        var settings = StreamsSettings.From(hocon);

        services.AddSingleton(settings);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(_ => new StreamDatabase(options.DataDirectory));
        services.AddSingleton(provider => new WalWriter(
            provider.GetRequiredService<StreamDatabase>(),
            settings.WalMaxOperationsPerCommit));
        services.AddSingleton<IRecordReader>(provider => new WalRecordReader(provider.GetRequiredService<StreamDatabase>()));
        services.AddSingleton(provider => new StreamDependencies(
            provider.GetRequiredService<StreamDatabase>(),
            provider.GetRequiredService<WalWriter>(),
            provider.GetRequiredService<IRecordReader>(),
            settings,
            provider.GetRequiredService<TimeProvider>()));
        services.AddAkka(options.ActorSystemName, (builder, provider) =>
        {
            builder.AddHocon(hocon, HoconAddMode.Append);
            builder.WithActors((system, registry, _) =>
            {
                var supervisor = system.ActorOf(
                    StreamSupervisorActor.Props(provider.GetRequiredService<StreamDependencies>()),
                    "streams");
                registry.Register<StreamSupervisorActor>(supervisor);
            });
        });
        services.AddSingleton<IStreamsGateway, ActorStreamsGateway>();
        return services;
    }
}

/// <summary>What a host decides about the engine.</summary>
public sealed record StreamsEngineOptions
{
    public required string DataDirectory { get; init; }

    /// <summary>HOCON that overrides the embedded defaults of <c>streams.conf</c>.</summary>
    public string? HoconOverrides { get; init; }

    public string ActorSystemName { get; init; } = "streams";
}
