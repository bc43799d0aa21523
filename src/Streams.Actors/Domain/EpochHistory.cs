namespace Streams.Actors.Domain;

/// <summary>One writer epoch: offsets of this epoch start at record position <see cref="StartPosition"/>.</summary>
public readonly record struct EpochStart(long Epoch, long StartPosition);

/// <summary>
/// The epochs a stream has had. A new epoch begins when a stream is taken over after an unclean
/// stop, so offsets handed out from a lost tail can be told apart from the new ones.
/// </summary>
public sealed class EpochHistory
{
    private readonly List<EpochStart> starts;

    public EpochHistory(IEnumerable<EpochStart> starts)
    {
        this.starts = [.. starts.OrderBy(start => start.Epoch)];
        if (this.starts.Count == 0)
        {
            this.starts.Add(new EpochStart(0, 0));
        }
    }

    public static EpochHistory Initial => new([]);

    public IReadOnlyList<EpochStart> Starts => starts;

    public long CurrentEpoch => starts[^1].Epoch;

    /// <summary>Opens a new epoch at <paramref name="position"/>, the first position it may write.</summary>
    public EpochHistory Bump(long position) =>
        new(starts.Append(new EpochStart(CurrentEpoch + 1, position)));

    /// <summary>The offset that names <paramref name="position"/>: the newest epoch begun at or before it.</summary>
    public Offset OffsetAt(long position)
    {
        for (var i = starts.Count - 1; i > 0; i--)
        {
            if (starts[i].StartPosition <= position)
            {
                return new Offset(starts[i].Epoch, position);
            }
        }

        return new Offset(starts[0].Epoch, position);
    }

    /// <summary>
    /// Maps a client's offset to a record position. An offset of an old epoch that lies beyond the
    /// point where the next epoch began was handed out from a tail that was lost; it has no position
    /// and <paramref name="resumeAt"/> says where the surviving history continues.
    /// </summary>
    public bool TryResolve(Offset offset, out long position, out long resumeAt)
    {
        position = offset.Position;
        resumeAt = offset.Position;
        for (var i = 0; i < starts.Count - 1; i++)
        {
            if (starts[i].Epoch == offset.Epoch && offset.Position > starts[i + 1].StartPosition)
            {
                resumeAt = starts[i + 1].StartPosition;
                return false;
            }
        }

        return true;
    }
}
