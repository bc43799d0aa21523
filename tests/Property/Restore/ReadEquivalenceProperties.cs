using FsCheck;
using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;

namespace Streams.Tests.Property.Restore;

/// <summary>
/// Reads merge segment files and the WAL at sealed_through, and a stream may have been served all
/// along, restored eagerly from every manifest, or hydrated lazily on first touch: whichever path
/// serves it, every read must equal a plain list model. Random schedules of creates, appends (some
/// from idempotent producers or with Stream-Seq), closes, seal, upload and compaction ticks sent to
/// the real segmenter, uploader and compactor actors, idle timeouts (evicting under lazy restore),
/// drains, crashes (keeping or losing the disk, or in the middle of the drain's publish) and
/// restarts in each restore mode run against a real node; every reply must be the one the model
/// predicts, and after every step every stream is read from every offset (<see cref="ReadChecker"/>).
/// </summary>
public sealed class ReadEquivalenceProperties(ITestOutputHelper output)
{
    /// <summary>Each case starts several actor systems; this many keep the property around a minute.</summary>
    private const int Cases = 50;

    /// <summary>
    /// A case takes well under a second; one that has not finished by then hangs. It fails like any
    /// other counterexample, so FsCheck shrinks it and reports the smallest schedule that hangs.
    /// </summary>
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Every_read_from_every_offset_equals_the_list_model_whether_never_restarted_or_restored_eagerly_or_lazily()
    {
        Coverage.Reset();
        var config = Config.QuickThrowOnFailure
            .WithMaxTest(Cases)
            .WithStartSize(Generators.MaxScheduleSteps / 3)
            .WithEndSize(Generators.MaxScheduleSteps)
            .WithArbitrary([typeof(Generators)])
            .WithQuietOnSuccess(true);
        Check.One(config, Prop.ForAll<Schedule>(schedule => RunCase(schedule)));

        // Each of these needs a lucky combination of steps; 50 cases reach every one of them many
        // times over. None reached means the operation behind it no longer does anything.
        output.WriteLine(Coverage.Summary());
        Assert.True(Coverage.SegmentsMerged > 0, $"no compaction merged any segment: {Coverage.Summary()}");
        Assert.True(Coverage.ProducerDuplicates > 0, $"no producer retry was answered as a duplicate: {Coverage.Summary()}");
        Assert.True(Coverage.ProducerRejections > 0, $"no producer request was refused: {Coverage.Summary()}");
        Assert.True(Coverage.StreamSeqRejections > 0, $"no Stream-Seq regression was refused: {Coverage.Summary()}");
        Assert.True(Coverage.ProducerStatesCarriedOver > 0, $"no producer state was judged after a restart or restore: {Coverage.Summary()}");
    }

    private static void RunCase(Schedule schedule)
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
