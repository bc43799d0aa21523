using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Actors;

/// <summary>
/// Idle owners stop through the supervisor's handshake and come back from the index on the next message.
/// </summary>
public sealed class StreamPassivationTests(ITestOutputHelper output)
    : StreamActorTestKit(output, StreamsSettings.Default with { PassivateAfter = PassivateAfter })
{
    private const string Name = "metrics/cpu";
    private const string SupervisorName = "streams";
    private static readonly TimeSpan PassivateAfter = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private IActorRef StartSupervisor() =>
        Sys.ActorOf(StreamSupervisorActor.Props(Engine.Dependencies), SupervisorName);

    private async Task<int> ActiveOwnersAsync(IActorRef supervisor) =>
        await supervisor.Ask<int>(new StreamSupervisorActor.GetActiveStreamCount(), Deadline);

    private Task AwaitNoActiveOwnersAsync(IActorRef supervisor) =>
        AwaitAssertAsync(async () => Assert.Equal(0, await ActiveOwnersAsync(supervisor)), Deadline, TimeSpan.FromMilliseconds(50));

    [Fact]
    public async Task Should_stop_an_idle_owner_when_nothing_arrives_for_the_passivation_time()
    {
        var supervisor = StartSupervisor();
        supervisor.Tell(Create(Name));
        await ExpectMsgAsync<StreamCreated>();
        Assert.Equal(1, await ActiveOwnersAsync(supervisor));

        await AwaitNoActiveOwnersAsync(supervisor);
    }

    [Fact]
    public async Task Should_stop_an_idle_owner_when_its_last_append_has_committed()
    {
        var supervisor = StartSupervisor();
        supervisor.Tell(Create(Name));
        await ExpectMsgAsync<StreamCreated>();
        await AppendAsync(supervisor, Append(Name, "a"));

        await AwaitNoActiveOwnersAsync(supervisor);
    }

    [Fact]
    public async Task Should_answer_from_the_persisted_state_when_a_message_arrives_after_passivation()
    {
        var producer = new ProducerClaim("p", Epoch: 0, Seq: 1);
        var supervisor = StartSupervisor();
        supervisor.Tell(Create(Name));
        await ExpectMsgAsync<StreamCreated>();
        await AppendAsync(supervisor, Append(Name, "a", producer: producer with { Seq = 0 }));
        await AppendAsync(supervisor, Append(Name, "b", producer: producer, close: true));
        await AwaitNoActiveOwnersAsync(supervisor);

        var read = await ReadAllAsync(supervisor, Name);
        var retry = await AppendAsync(supervisor, Append(Name, "b", producer: producer, close: true));

        Assert.Equal(["a", "b"], Texts(read));
        Assert.True(read.Closed);
        Assert.Equal(At(2), read.Next);
        Assert.True(retry.Duplicate);
    }

    [Fact]
    public async Task Should_answer_a_parked_reader_before_stopping_when_its_wait_outlasts_the_idle_time()
    {
        var supervisor = StartSupervisor();
        supervisor.Tell(Create(Name));
        await ExpectMsgAsync<StreamCreated>();
        var reader = CreateTestProbe();

        supervisor.Tell(ReadFrom(Name, ReadStart.Tail, PassivateAfter * 4), reader);

        var read = await reader.ExpectMsgAsync<ReadCompleted>(Deadline);
        Assert.True(read.TimedOut);
        await AwaitNoActiveOwnersAsync(supervisor);
    }

    [Fact]
    public async Task Should_answer_a_message_when_it_arrives_while_its_owner_is_stopping()
    {
        var supervisor = StartSupervisor();
        supervisor.Tell(Create(Name));
        await ExpectMsgAsync<StreamCreated>();
        await AppendAsync(supervisor, Append(Name, "a"));
        var owner = await Sys
            .ActorSelection($"/user/{SupervisorName}/stream-{StreamNaming.Hash(Name)}")
            .ResolveOne(Deadline);
        Watch(owner);

        // The supervisor's side of the handshake, started by hand so the message below is sure to
        // arrive while the owner is being stopped.
        supervisor.Tell(new StreamSupervisorActor.Passivate(owner));
        supervisor.Tell(new DescribeStream(Name));

        await ExpectTerminatedAsync(owner);
        var described = await ExpectMsgAsync<StreamDescribed>();
        Assert.Equal(At(1), described.Stream.Tail);
    }
}
