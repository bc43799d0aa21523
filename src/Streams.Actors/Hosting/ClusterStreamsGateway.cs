using Akka.Actor;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Streams.Actors.Storage;

namespace Streams.Actors.Hosting;

/// <summary>
/// The front door's way into the engine on a cluster node. Requests reach this node's gateway only
/// for streams this node owns (the front door sends the others to their owner over HTTP), so a
/// command goes straight to the local owner; when there is none (the stream moved meanwhile) the
/// answer is <see cref="ErrorCode.StreamMoving"/> and the front door asks again where it lives.
/// Commands never travel over remoting: their bodies may be larger than a remoting frame.
/// </summary>
internal sealed class ClusterStreamsGateway(StreamsNode node, StreamDatabase database) : IStreamsGateway
{
    public async Task<object> SendAsync(IStreamCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!node.TryGetLocalOwner(command.StreamName, out var owner))
        {
            return new StreamReplies.StreamRejected(ErrorCode.StreamMoving, $"stream '{command.StreamName}' is not owned by this node; retry");
        }

        try
        {
            return await owner.Ask<object>(command, timeout, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            return new StreamReplies.StreamRejected(ErrorCode.Timeout, "the stream did not answer in time; retry");
        }
    }

    public Task<int> ActiveStreamCountAsync(CancellationToken cancellationToken) => Task.FromResult(node.LocalOwnerCount);

    public Task<IReadOnlyList<string>> ListStreamsAsync(string? after, int limit, CancellationToken cancellationToken) =>
        Task.Run(() => database.ListStreamNames(after, limit), cancellationToken);
}
