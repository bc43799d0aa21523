namespace Streams.Actors.Storage;

/// <summary>
/// Writes nothing; completes once every operation submitted before it has committed (the writer
/// commits in submission order). A drain uses it to know no acknowledged append is still in flight.
/// </summary>
public sealed class BarrierOperation : WalOperation<bool>
{
    protected override bool Execute(WalSession session) => true;
}
