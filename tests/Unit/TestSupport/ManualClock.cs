namespace Streams.Tests.Unit.TestSupport;

/// <summary>A clock that moves only when a test moves it (timers still run on real time).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long nowTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref nowTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref nowTicks, by.Ticks);
}
