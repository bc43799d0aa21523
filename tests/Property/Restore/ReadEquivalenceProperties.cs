using FsCheck.Xunit;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// Reads merge segment files and the WAL at sealed_through, and a stream may have been served all
/// along, restored eagerly from every manifest, or hydrated lazily on first touch: whichever path
/// serves it, every read must equal a plain list model. Random schedules of creates, appends,
/// closes, seals, publishes, idle timeouts (evicting under lazy restore), drains, crashes (keeping
/// or losing the disk, or in the middle of publishing) and restarts in each restore mode run
/// against a real node; after every step every stream is read from every offset
/// (<see cref="ReadChecker"/>).
/// </summary>
[Properties(Arbitrary = [typeof(Generators)])]
public sealed class ReadEquivalenceProperties
{
    /// <summary>Each case starts several actor systems; this many keep the property well under a minute.</summary>
    private const int Cases = 50;

    /// <summary>
    /// A case takes well under a second; one that has not finished by then hangs. It fails like any
    /// other counterexample, so FsCheck shrinks it and reports the smallest schedule that hangs.
    /// </summary>
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(30);

    [Property(MaxTest = Cases, StartSize = Generators.MaxScheduleSteps / 3, EndSize = Generators.MaxScheduleSteps)]
    public void Every_read_from_every_offset_equals_the_list_model_whether_never_restarted_or_restored_eagerly_or_lazily(Schedule schedule)
    {
        // Off the test runner's synchronisation context: the run awaits actor replies.
        var run = Task.Run(() => ScheduleRun.RunAsync(schedule));
        if (Task.WhenAny(run, Task.Delay(CaseTimeout)).GetAwaiter().GetResult() != run)
        {
            throw new TimeoutException($"the case did not finish within {CaseTimeout.TotalSeconds:F0} s (a hang):\n{schedule}");
        }

        run.GetAwaiter().GetResult();
    }
}
