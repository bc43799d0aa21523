using System.Text;
using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// Actor tests against the real storage: every test gets its own temp directory, SQLite index and WAL
/// writer, and a clock it controls. The actor system is stopped before the storage is disposed.
/// </summary>
public abstract class StreamActorTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    protected const string PlainText = "text/plain";
    protected const long UnlimitedReadBytes = long.MaxValue;

    private protected StreamActorTestKit(ITestOutputHelper output, StreamsSettings? settings = null)
        : base(output: output)
    {
        Engine = new StreamEngine(settings ?? StreamsSettings.Default);
    }

    private protected StreamEngine Engine { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Sys.Terminate();
        await Engine.DisposeAsync();
    }

    protected IActorRef StartStream(string name) => Sys.ActorOf(StreamActor.Props(name, Engine.Dependencies));

    /// <summary>Starts the stream's owner and creates the stream; fails the test unless it was created.</summary>
    protected async Task<IActorRef> StartCreatedStreamAsync(string name, string contentType = PlainText, long? ttlSeconds = null)
    {
        var stream = StartStream(name);
        stream.Tell(Create(name, contentType, ttlSeconds));
        var created = await ExpectMsgAsync<StreamCreated>();
        Assert.True(created.Created);
        return stream;
    }

    protected static CreateStream Create(
        string name,
        string contentType = PlainText,
        long? ttlSeconds = null,
        DateTimeOffset? expiresAt = null,
        bool closed = false) =>
        new(name, contentType, ttlSeconds, expiresAt, closed, []);

    protected static AppendToStream Append(
        string name,
        string payload,
        string contentType = PlainText,
        ProducerClaim? producer = null,
        string? streamSeq = null,
        bool close = false) =>
        new(name, contentType, [Encoding.UTF8.GetBytes(payload)], close, streamSeq, producer);

    protected static AppendToStream CloseOnly(string name, ProducerClaim? producer = null) =>
        new(name, ContentType: null, Records: [], Close: true, StreamSeq: null, producer);

    protected static ReadStream ReadFrom(string name, ReadStart start, TimeSpan? waitFor = null) =>
        new(name, start, waitFor, UnlimitedReadBytes);

    protected async Task<Appended> AppendAsync(IActorRef stream, AppendToStream append)
    {
        stream.Tell(append);
        return await ExpectMsgAsync<Appended>();
    }

    protected async Task<StreamRejected> RejectedAsync(IActorRef stream, object command)
    {
        stream.Tell(command);
        return await ExpectMsgAsync<StreamRejected>();
    }

    protected async Task<ReadCompleted> ReadAllAsync(IActorRef stream, string name)
    {
        stream.Tell(ReadFrom(name, ReadStart.Beginning));
        return await ExpectMsgAsync<ReadCompleted>();
    }

    protected static string[] Texts(ReadCompleted read) =>
        [.. read.Records.Select(record => Encoding.UTF8.GetString(record.Span))];

    /// <summary>The offset of a record position in a stream that never changed epoch.</summary>
    protected static Offset At(long position) => new(0, position);
}
