using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Restore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.PipelineMessages;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// The uploader publishes a stream's manifest once per batch of seals (issue 8): seals that follow a
/// publish within <c>upload.manifest-min-interval</c> wait for one manifest that lists them all,
/// instead of one manifest each. Real uploader actor, SQLite and directory store; the uploader's
/// clock is a manual one, so the interval passes when the test says.
/// </summary>
public sealed class ManifestBatchingTests(ITestOutputHelper output) : ObjectStoreWorldTestKit(output)
{
    private const int QuickSeals = 4;
    private static readonly TimeSpan MinInterval = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Should_publish_one_manifest_for_seals_that_follow_a_publish_within_the_minimum_interval()
    {
        const string name = "batched/trickle";
        var clock = new ManualTimeProvider();
        var node = Own(new StreamTestNode(World.Store, RestoreMode.None, $"streams.upload.manifest-min-interval = {MinInterval.TotalSeconds}s\nstreams.upload.check-interval = 1h", clock));
        var streams = StartSupervisor(node);
        var uploader = Sys.ActorOf(UploaderActor.Props(node.Publisher, node.Queries, node.Backlog, node.WalWriter, node.Settings, clock));
        await AskAsync<StreamCreated>(streams, new CreateStream(name, Binary, null, null, false, []));

        // The periodic round is an hour away: every round here is one the test asks for.
        await AppendAndSealAsync(node, streams, name, "first");
        await uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout);
        var putsAfterFirst = World.ManifestPuts(name);
        Assert.Single((await World.ReadManifestAsync(name)).Segments.RecordCounts);

        for (var i = 0; i < QuickSeals; i++)
        {
            await AppendAndSealAsync(node, streams, name, $"quick-{i}");
            await uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout);
        }

        // Sealed and uploaded-to-be, but within the interval: no manifest yet.
        Assert.Equal(putsAfterFirst, World.ManifestPuts(name));

        clock.Advance(MinInterval);
        await uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout);

        Assert.Equal(putsAfterFirst + 1, World.ManifestPuts(name));
        var manifest = await World.ReadManifestAsync(name);
        Assert.Equal(1 + QuickSeals, manifest.Segments.Count);
        Assert.Equal(1 + QuickSeals, manifest.NextPosition);
    }

    /// <summary>Appends one record and seals it into a segment of its own.</summary>
    private static async Task AppendAndSealAsync(StreamTestNode node, IActorRef streams, string name, string label)
    {
        await AskAsync<Appended>(streams, new AppendToStream(name, Binary, [Payload(label)], false, null, null));
        await node.Sealer.SealDueAsync(node.Dependencies.Clock.GetUtcNow().ToUnixTimeMilliseconds(), force: true, CancellationToken.None);
    }
}
