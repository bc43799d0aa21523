using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using static Streams.Actors.Subscriptions.StreamNameMessages;

namespace Streams.Actors.Subscriptions;

/// <summary>
/// A backfill in a cluster: the streams a pattern matches are those in the local indexes of every
/// member that hosts streams, asked of each member's <see cref="StreamNamesActor"/>. A member that
/// does not answer in time is left out (logged): its streams are linked when they next signal,
/// as streams still only in the object store are.
/// </summary>
internal sealed class ClusterStreamNames(ActorSystem system, string? role, TimeSpan timeout)
{
    /// <summary>Matches per answer: keeps each remoting message far below the frame size.</summary>
    private const int PageLimit = 500;

    public async Task<IReadOnlyList<string>> MatchingAsync(string pattern, CancellationToken cancellationToken)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var members = cluster.State.Members
            .Where(member => member.Status is MemberStatus.Up or MemberStatus.Leaving && (role is null || member.HasRole(role)))
            .ToList();
        var perMember = await Task.WhenAll(members.Select(member => MatchingOnAsync(member.Address, pattern, cancellationToken)));
        return perMember.SelectMany(names => names).Distinct(StringComparer.Ordinal).ToList();
    }

    private async Task<List<string>> MatchingOnAsync(Address address, string pattern, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        var responder = system.ActorSelection(new RootActorPath(address) / "user" / StreamNamesActor.Name);
        string? after = null;
        try
        {
            do
            {
                var page = await responder.Ask<LocalStreamsMatched>(new MatchLocalStreams(pattern, after, PageLimit), timeout, cancellationToken);
                names.AddRange(page.Names);
                after = page.ResumeAfter;
            }
            while (after is not null);
        }
        catch (AskTimeoutException)
        {
            system.Log.Warning("Subscriptions: {0} did not list its streams matching '{1}' in time; they are linked when they next signal", address, pattern);
        }

        return names;
    }
}
