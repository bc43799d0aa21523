using System.Text;
using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Forks;

/// <summary>
/// Fork tests talk to a real supervisor over real storage: a fork's owner reaches its source's owner
/// through the supervisor, exactly as in the server. Each test gets its own engine; the actor system
/// is stopped before the storage is disposed.
/// </summary>
public abstract class ForkActorTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    protected const string PlainText = "text/plain";
    protected const string Json = "application/json";
    protected const long Unlimited = long.MaxValue;

    private protected ForkActorTestKit(ITestOutputHelper output)
        : base(output: output)
    {
        Engine = new ForkTestEngine();
        Streams = Sys.ActorOf(StreamSupervisorActor.Props(Engine.Dependencies), "streams");
    }

    private protected ForkTestEngine Engine { get; }

    protected IActorRef Streams { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Sys.Terminate();
        await Engine.DisposeAsync();
    }

    protected async Task<T> AskAsync<T>(IStreamCommand command)
    {
        var reply = await Streams.Ask<object>(command, TimeSpan.FromSeconds(10));
        return Assert.IsType<T>(reply);
    }

    protected async Task<StreamView> CreateAsync(string name, string contentType = PlainText, long? ttlSeconds = null, params string[] records)
    {
        var created = await AskAsync<StreamCreated>(new CreateStream(name, contentType, ttlSeconds, null, false, Bytes(records)));
        Assert.True(created.Created);
        return created.Stream;
    }

    protected Task<Appended> AppendAsync(string name, string contentType = PlainText, params string[] records) =>
        AskAsync<Appended>(new AppendToStream(name, contentType, Bytes(records), Close: false, StreamSeq: null, Producer: null));

    protected static CreateFork Fork(
        string name,
        string source,
        Offset? at = null,
        long subOffset = 0,
        string? contentType = null,
        long? ttlSeconds = null,
        string body = "") =>
        new(name, contentType, ttlSeconds, null, false, Encoding.UTF8.GetBytes(body), source, at, subOffset);

    protected async Task<StreamView> ForkAsync(CreateFork fork)
    {
        var created = await AskAsync<StreamCreated>(fork);
        Assert.True(created.Created);
        return created.Stream;
    }

    protected Task<ReadCompleted> ReadAsync(string name, ReadStart? start = null, long maxBytes = Unlimited) =>
        AskAsync<ReadCompleted>(new ReadStream(name, start ?? ReadStart.Beginning, WaitFor: null, maxBytes));

    protected async Task<string[]> TextsAsync(string name, ReadStart? start = null) => Texts(await ReadAsync(name, start));

    protected Task<StreamRejected> RejectedAsync(IStreamCommand command) => AskAsync<StreamRejected>(command);

    protected static string[] Texts(ReadCompleted read) =>
        [.. read.Records.Select(record => Encoding.UTF8.GetString(record.Span))];

    /// <summary>The offset of a record position in a stream that never changed epoch.</summary>
    protected static Offset At(long position) => new(0, position);

    private static List<byte[]> Bytes(string[] records) => [.. records.Select(Encoding.UTF8.GetBytes)];
}
