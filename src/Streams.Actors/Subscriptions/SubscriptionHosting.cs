using Akka.Cluster.Hosting;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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

    /// <summary>The manager's actor name; in a cluster also the singleton's name (its proxy is <c>subscriptions-proxy</c>).</summary>
    public const string ManagerName = "subscriptions";

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
        if (options.Cluster is not null)
        {
            services.AddSingleton(provider => new PublishedSigningKeys(
                provider.GetRequiredService<IObjectStore>(),
                provider.GetRequiredService<WebhookSigningKeys>(),
                settings.SigningKeyRetention,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILoggerFactory>().CreateLogger<PublishedSigningKeys>()));
            services.AddHostedService<SigningKeyPublication>();
        }

        return services;
    }

    /// <summary>One node: starts the subscription manager after the stream supervisor it sends stream commands to.</summary>
    public static AkkaConfigurationBuilder WithSubscriptionActors(this AkkaConfigurationBuilder builder, IServiceProvider provider)
    {
        builder.WithActors((system, registry, _) =>
        {
            var database = provider.GetRequiredService<StreamDatabase>();
            var dependencies = Dependencies(
                provider,
                registry.Get<StreamSupervisorActor>(),
                (pattern, cancellationToken) => Task.Run<IReadOnlyList<string>>(() => StreamTails.Matching(database.ListStreamNames, pattern), cancellationToken),
                clustered: false);
            var manager = system.ActorOf(SubscriptionManagerActor.Props(dependencies), ManagerName);
            registry.Register<SubscriptionManagerActor>(manager);
        });
        return builder;
    }

    /// <summary>
    /// A cluster: the subscription manager is a cluster singleton on the oldest member that hosts
    /// streams (it moves when that member leaves or is downed, and its successor reads every
    /// subscription from the object store); every member runs the signal mediator and answers which
    /// of its streams a pattern matches. Registered after the shard region, which it sends stream
    /// commands to. docs/adr/0012-subscriptions-in-a-cluster.md explains the choice.
    /// </summary>
    public static AkkaConfigurationBuilder WithClusterSubscriptionActors(this AkkaConfigurationBuilder builder, IServiceProvider provider, StreamsClusterOptions cluster)
    {
        builder.WithDistributedPubSub(cluster.ShardRole ?? string.Empty);
        builder.WithActors((system, _, _) =>
        {
            var database = provider.GetRequiredService<StreamDatabase>();
            system.ActorOf(StreamNamesActor.Props(database.ListStreamNames), StreamNamesActor.Name);
        });
        builder.WithSingleton<SubscriptionManagerActor>(
            ManagerName,
            (system, registry, _) =>
            {
                var names = new ClusterStreamNames(system, cluster.ShardRole, provider.GetRequiredService<StreamsSettings>().AskTimeout);
                return SubscriptionManagerActor.Props(Dependencies(provider, registry.Get<StreamActor>(), names.MatchingAsync, clustered: true));
            },
            new ClusterSingletonOptions { Role = cluster.ShardRole },
            createProxyToo: true);
        return builder;
    }

    private static SubscriptionDependencies Dependencies(
        IServiceProvider provider,
        Akka.Actor.IActorRef streams,
        Func<string, CancellationToken, Task<IReadOnlyList<string>>> matchingStreams,
        bool clustered) =>
        new(
            provider.GetRequiredService<SubscriptionStore>(),
            provider.GetRequiredService<WebhookDelivery>(),
            provider.GetRequiredService<WebhookSigningKeys>(),
            provider.GetRequiredService<SubscriptionSettings>(),
            provider.GetRequiredService<StreamsSettings>().AskTimeout,
            provider.GetRequiredService<TimeProvider>(),
            streams,
            matchingStreams,
            clustered);
}
