namespace Streams.Tests.Property.Restore;

/// <summary>
/// The clock every part of the node under test reads (the pipeline actors' intervals, backoffs,
/// compaction's quiet time and deletion grace, publish times). It moves only when the schedule says
/// so, and it outlives the nodes of a run, so a restart never goes back in time.
/// </summary>
internal sealed class ScheduleClock(DateTimeOffset start) : TimeProvider
{
    private long nowTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref nowTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref nowTicks, by.Ticks);
}
