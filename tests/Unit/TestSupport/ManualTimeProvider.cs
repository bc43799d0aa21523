namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// A clock that moves only when a test says so. Only the wall-clock reading is controlled: the engine
/// reads <see cref="TimeProvider.GetUtcNow"/> for TTL and expiry decisions, while its timers run on
/// the actor scheduler.
/// </summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long utcTicks = start.UtcTicks;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref utcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref utcTicks, by.Ticks);
}
