namespace Streams.Actors.Domain;

/// <summary>Set once the server begins to drain: from then on appends are refused.</summary>
public sealed class DrainState
{
    private volatile bool draining;

    public bool IsDraining => draining;

    public void Begin() => draining = true;
}
