using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.ObjectStore;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// Cluster mode: publishes this node's public signing keys at start (see
/// <see cref="PublishedSigningKeys"/>), retrying while the bucket is unreachable, so another node's
/// JWKS lists them before this node can come to sign anything with them.
/// </summary>
internal sealed class SigningKeyPublication(PublishedSigningKeys keys, ILogger<SigningKeyPublication> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await keys.PublishAsync(stoppingToken);
                logger.LogInformation("Subscriptions: published this node's public signing keys");
                return;
            }
            catch (ObjectStoreException exception)
            {
                logger.LogWarning("Subscriptions: could not publish the public signing keys ({Reason}); retrying in {Delay}", exception.Message, RetryDelay);
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }
}
