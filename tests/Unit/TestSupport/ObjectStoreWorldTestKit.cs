using System.Text;
using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.Restore;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// Actor tests of several nodes on one object store: an <see cref="ObjectStoreWorld"/> (a directory
/// store, counted and controllable) and the nodes a test starts on it, each a real engine on SQLite in
/// a temp directory with a stream supervisor of its own. Everything is disposed with the test.
/// </summary>
public abstract class ObjectStoreWorldTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    protected const string Binary = ContentTypes.Default;
    protected const long MaxReadBytes = 1 << 20;
    protected static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    private readonly List<StreamTestNode> nodes = [];
    private int supervisorCount;

    protected ObjectStoreWorldTestKit(ITestOutputHelper output)
        : base("akka.loglevel = INFO", output)
    {
    }

    protected ObjectStoreWorld World { get; } = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // A held or failing store call must not stop a node's drain below.
        World.Control.ClearRules();
        await Sys.Terminate();
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        World.Dispose();
    }

    /// <summary>A node on the shared store, without a supervisor: the test drives its parts or starts one.</summary>
    protected StreamTestNode NewNode(RestoreMode mode, string? hocon = null) => Own(new StreamTestNode(World.Store, mode, hocon));

    /// <summary>Takes a node the test built itself (a clock of its own, say) to dispose it with the others.</summary>
    protected StreamTestNode Own(StreamTestNode node)
    {
        nodes.Add(node);
        return node;
    }

    /// <summary>A node on the shared store and the stream supervisor requests go to.</summary>
    protected (StreamTestNode Node, IActorRef Streams) StartNode(RestoreMode mode, string? hocon = null)
    {
        var node = NewNode(mode, hocon);
        return (node, StartSupervisor(node));
    }

    /// <summary>A stream supervisor of <paramref name="node"/>, named apart from every other in this actor system.</summary>
    protected IActorRef StartSupervisor(StreamTestNode node) =>
        Sys.ActorOf(StreamSupervisorActor.Props(node.Dependencies), $"streams-{++supervisorCount}");

    protected static async Task<T> AskAsync<T>(IActorRef streams, object message)
    {
        var reply = await streams.Ask<object>(message, AskTimeout);
        return reply is T expected ? expected : throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {reply}");
    }

    protected static Task<ReadCompleted> ReadAllAsync(IActorRef streams, string name) =>
        AskAsync<ReadCompleted>(streams, new ReadStream(name, ReadStart.Beginning, null, MaxReadBytes));

    /// <summary>A payload that is not text: it holds a zero byte and a byte no UTF-8 text has.</summary>
    protected static byte[] Payload(string label) => [0x00, .. Encoding.UTF8.GetBytes(label), 0xFF];

    /// <summary>The records, byte for byte; compared as hex so that a difference shows where it is.</summary>
    protected static void AssertRecords(IReadOnlyList<byte[]> expected, ReadCompleted read) =>
        Assert.Equal(expected.Select(Convert.ToHexString), read.Records.Select(record => Convert.ToHexString(record.Span)));
}
