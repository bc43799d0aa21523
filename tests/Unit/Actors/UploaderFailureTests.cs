using Akka.Actor;
using Microsoft.Data.Sqlite;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.PipelineMessages;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// Failures in the uploader are seen: a tombstone that cannot be published is logged with its
/// stream's name, and a round that fails as a whole is logged and reported to whoever asked for it
/// (a drain must not take a failed round for a published one).
/// </summary>
public sealed class UploaderFailureTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const string Name = "uploader/deleted";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);

    private readonly ObjectStoreWorld world = new();

    // No periodic round: only the test's PublishAll starts one, so each log line is that round's.
    private readonly StreamTestNode node;

    public UploaderFailureTests(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output)
    {
        node = new StreamTestNode(world.Store, hocon: "streams.upload.check-interval = 1h");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Sys.Terminate();
        await node.DisposeAsync();
        world.Dispose();
    }

    [Fact]
    public async Task Should_log_the_stream_and_retry_next_round_when_its_tombstone_cannot_be_published()
    {
        var streams = Sys.ActorOf(StreamSupervisorActor.Props(node.Dependencies));
        await streams.Ask<StreamCreated>(new CreateStream(Name, ContentTypes.Default, null, null, false, []), AskTimeout);
        await streams.Ask<StreamDeleted>(new DeleteStream(Name), AskTimeout);
        world.Control.Fail(ObjectStoreOperation.Put, ObjectStoreWorld.ManifestOf(Name), () => new ObjectStoreException("no writes today"));
        var uploader = StartUploader();

        var failed = await EventFilter.Warning(contains: $"Publishing the tombstone of stream {Name} failed: no writes today")
            .ExpectOneAsync(() => uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout));
        world.Control.ClearRules();
        var retried = await uploader.Ask<AllPublished>(new PublishAll(Draining: false), AskTimeout);

        Assert.Equal(0, failed.TombstonesPublished);
        Assert.Equal(1, retried.TombstonesPublished);
        Assert.True((await world.ReadManifestAsync(Name)).Deleted);
    }

    [Fact]
    public async Task Should_log_the_error_and_report_it_to_the_requester_when_an_upload_round_fails_as_a_whole()
    {
        var uploader = StartUploader();
        // The round's first query then fails: the whole round does, not one stream's upload.
        RunSql("ALTER TABLE tombstones RENAME TO tombstones_hidden");

        var failed = await EventFilter.Error(contains: "The upload round failed")
            .ExpectOneAsync(() => uploader.Ask<AllPublished>(new PublishAll(Draining: true), AskTimeout));
        RunSql("ALTER TABLE tombstones_hidden RENAME TO tombstones");
        var recovered = await uploader.Ask<AllPublished>(new PublishAll(Draining: true), AskTimeout);

        Assert.NotNull(failed.Error);
        Assert.Contains("tombstones", failed.Error, StringComparison.Ordinal);
        Assert.Null(recovered.Error);
    }

    private IActorRef StartUploader() =>
        Sys.ActorOf(UploaderActor.Props(node.Publisher, node.Queries, node.Backlog, node.WalWriter, node.Settings, TimeProvider.System));

    private void RunSql(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={node.Database.Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
