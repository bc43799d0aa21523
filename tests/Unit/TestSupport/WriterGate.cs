using Streams.Actors.Storage;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// An operation that holds the WAL writer's thread inside its batch until the test opens the gate, so
/// a test decides when the operations queued behind it are committed.
/// </summary>
internal sealed class WriterGate : WalOperation<bool>
{
    /// <summary>A forgotten gate must not hang the writer (and the test run) for ever.</summary>
    private static readonly TimeSpan MaxHold = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim opened = new(initialState: false);

    /// <summary>Completes once the writer thread is held inside the gate.</summary>
    public Task Entered => entered.Task;

    public void Open() => opened.Set();

    /// <summary>Queues the gate on <paramref name="writer"/> and returns once the writer is held by it.</summary>
    public static async Task<WriterGate> CloseAsync(WalWriter writer)
    {
        var gate = new WriterGate();
        _ = writer.Submit(gate);
        await gate.Entered.WaitAsync(MaxHold);
        return gate;
    }

    protected override bool Execute(WalSession session)
    {
        entered.TrySetResult();
        if (!opened.Wait(MaxHold))
        {
            throw new InvalidOperationException("the writer gate was never opened");
        }

        return true;
    }
}
