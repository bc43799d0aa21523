using Akka.Actor;
using Akka.Hosting;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Streams.Actors.Storage;

namespace Streams.Actors.Hosting;

/// <summary>The front door's only way into the engine: send a command to a stream, get its reply.</summary>
public interface IStreamsGateway
{
    /// <summary>
    /// Sends <paramref name="command"/> to the stream's owner and returns its reply, or a
    /// <see cref="StreamReplies.StreamRejected"/> with <see cref="ErrorCode.Timeout"/> when none came in time.
    /// </summary>
    Task<object> SendAsync(IStreamCommand command, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>How many stream owners are alive on this node.</summary>
    Task<int> ActiveStreamCountAsync(CancellationToken cancellationToken);

    /// <summary>Names of the streams in the local index, in ordinal order, after <paramref name="after"/>.</summary>
    Task<IReadOnlyList<string>> ListStreamsAsync(string? after, int limit, CancellationToken cancellationToken);
}

internal sealed class ActorStreamsGateway(IRequiredActor<StreamSupervisorActor> supervisor, StreamDatabase database) : IStreamsGateway
{
    private static readonly TimeSpan CountTimeout = TimeSpan.FromSeconds(5);

    public async Task<object> SendAsync(IStreamCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var target = await supervisor.GetAsync(cancellationToken);
        try
        {
            return await target.Ask<object>(command, timeout, cancellationToken);
        }
        catch (AskTimeoutException)
        {
            return new StreamReplies.StreamRejected(ErrorCode.Timeout, "the stream did not answer in time; retry");
        }
    }

    public async Task<int> ActiveStreamCountAsync(CancellationToken cancellationToken)
    {
        var target = await supervisor.GetAsync(cancellationToken);
        return await target.Ask<int>(new StreamSupervisorActor.GetActiveStreamCount(), CountTimeout, cancellationToken);
    }

    public Task<IReadOnlyList<string>> ListStreamsAsync(string? after, int limit, CancellationToken cancellationToken) =>
        Task.Run(() => database.ListStreamNames(after, limit), cancellationToken);
}
