using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;

namespace Streams.Actors.Subscriptions;

/// <summary>Wires subscriptions into the engine: settings, signing keys, URL policy, delivery, store, owners, gateway.</summary>
public static class SubscriptionHosting
{
    /// <summary>Under the data directory; the private keys never leave this node's disk.</summary>
    public const string KeysDirectoryName = "subscriptions/keys";

    public static IServiceCollection AddStreamSubscriptions(this IServiceCollection services, StreamsEngineOptions options, Akka.Configuration.Config hocon)
    {
        var settings = SubscriptionSettings.From(hocon, options.AllowPrivateWebhooks);
        services.AddSingleton(settings);
        services.AddSingleton(provider => WebhookSigningKeys.Open(
            Path.Combine(options.DataDirectory, KeysDirectoryName),
            settings.SigningKeyMaxAge,
            settings.SigningKeyRetention,
            provider.GetRequiredService<TimeProvider>().GetUtcNow()));
        services.AddSingleton(new WebhookUrlPolicy(settings.AllowPrivateWebhooks));
        services.AddSingleton(provider => new WebhookDelivery(
            provider.GetRequiredService<WebhookSigningKeys>(),
            provider.GetRequiredService<WebhookUrlPolicy>(),
            settings,
            provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new SubscriptionStore(provider.GetRequiredService<IObjectStore>()));
        services.AddSingleton<ISubscriptionsGateway, ActorSubscriptionsGateway>();
        return services;
    }

    /// <summary>Starts the subscription manager after the stream supervisor it sends stream commands to.</summary>
    public static AkkaConfigurationBuilder WithSubscriptionActors(this AkkaConfigurationBuilder builder, IServiceProvider provider)
    {
        builder.WithActors((system, registry, _) =>
        {
            var database = provider.GetRequiredService<StreamDatabase>();
            var dependencies = new SubscriptionDependencies(
                provider.GetRequiredService<SubscriptionStore>(),
                provider.GetRequiredService<WebhookDelivery>(),
                provider.GetRequiredService<WebhookSigningKeys>(),
                provider.GetRequiredService<SubscriptionSettings>(),
                provider.GetRequiredService<StreamsSettings>().AskTimeout,
                provider.GetRequiredService<TimeProvider>(),
                registry.Get<StreamSupervisorActor>(),
                database.ListStreamNames);
            var manager = system.ActorOf(SubscriptionManagerActor.Props(dependencies), "subscriptions");
            registry.Register<SubscriptionManagerActor>(manager);
        });
        return builder;
    }
}
