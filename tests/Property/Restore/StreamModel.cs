using Streams.Actors.Domain;
using Streams.Actors.Restore;

namespace Streams.Tests.Property.Restore;

/// <summary>Where a stream stands as far as the node under test is concerned.</summary>
public enum Presence
{
    /// <summary>Never created, or lost with a disk before it was ever published.</summary>
    Absent,

    /// <summary>Only the object store has it and the node does not restore: 404 until a PUT hydrates it.</summary>
    RemoteOnly,

    /// <summary>The node serves it.</summary>
    Live,
}

/// <summary>What the object store holds for a stream: the last manifest published.</summary>
public sealed record PublishedManifest(int NextPosition, bool Closed, bool DrainedClean, ModelEpochs Epochs);

/// <summary>
/// A stream's epochs, kept apart from the production <c>EpochHistory</c> so the model does not
/// inherit its mistakes: epoch numbers only grow, each begins at a record position, and a position
/// is named by the newest epoch begun at or before it.
/// </summary>
public sealed record ModelEpochs(IReadOnlyList<(long Epoch, long Start)> Starts)
{
    public static ModelEpochs Initial => new([(0, 0)]);

    public Offset OffsetAt(long position)
    {
        for (var i = Starts.Count - 1; i > 0; i--)
        {
            if (Starts[i].Start <= position)
            {
                return new Offset(Starts[i].Epoch, position);
            }
        }

        return new Offset(Starts[0].Epoch, position);
    }

    public ModelEpochs Bump(long position) => new([.. Starts, (Starts[^1].Epoch + 1, position)]);

    public override string ToString() => string.Join(" ", Starts.Select(start => $"e{start.Epoch}@{start.Start}"));
}

/// <summary>
/// The plain list model of one stream: the records that must be readable, in order, and what the
/// stream's owner and the object store know about them. It also remembers every offset the server
/// has ever handed out with the records it stood after, to prove offsets are never reused for
/// different data.
/// </summary>
public sealed class StreamModel(string name)
{
    private readonly Dictionary<Offset, byte[][]> handedOut = [];

    /// <summary>What each accepted append carried, in order: its producer's (epoch, seq) and its Stream-Seq.</summary>
    private readonly List<AppendMark> marks = [];

    /// <summary>Counts the restarts and restores the stream went through, to tell state carried over one.</summary>
    private int incarnation;

    public string Name { get; } = name;

    public Presence Presence { get; private set; } = Presence.Absent;

    public bool Json { get; private set; }

    /// <summary>Every acknowledged record this node must serve.</summary>
    public List<byte[]> Records { get; } = [];

    public bool Closed { get; private set; }

    /// <summary>Records sealed into segment files (a prefix of <see cref="Records"/>).</summary>
    public int Sealed { get; private set; }

    /// <summary>
    /// False while the owner may not acknowledge an append before publishing a manifest of its own:
    /// after a restore from the object store, and after a manifest that promised no further appends.
    /// </summary>
    public bool OwnershipClaimed { get; private set; }

    public ModelEpochs Epochs { get; private set; } = ModelEpochs.Initial;

    /// <summary>The manifest in the object store.</summary>
    public PublishedManifest? Manifest { get; private set; }

    /// <summary>
    /// What the local index recorded of the last publish it saw complete (null: none): a publish
    /// can reach the object store and still be lost locally with a crash.
    /// </summary>
    public PublishedManifest? LocallyPublished { get; private set; }

    public IReadOnlyDictionary<Offset, byte[][]> HandedOut => handedOut;

    public int Count => Records.Count;

    public string ContentType => Json ? ContentTypes.Json : ContentTypes.Default;

    public Offset Tail => Epochs.OffsetAt(Count);

    public Offset OffsetAt(long position) => Epochs.OffsetAt(position);

    public void CreateNew(bool json, IReadOnlyList<byte[]> initialRecords)
    {
        Presence = Presence.Live;
        Json = json;
        Records.Clear();
        Records.AddRange(initialRecords);
        marks.Clear();
        Closed = false;
        Sealed = 0;
        OwnershipClaimed = true;
        Epochs = ModelEpochs.Initial;
        Manifest = null;
        LocallyPublished = null;
        handedOut.Clear();
    }

    /// <summary>
    /// The owner is about to acknowledge its first append after a restore (or a clean drain): it
    /// publishes a manifest that does not claim a clean drain, so that losing this node bumps the epoch.
    /// </summary>
    public void ClaimIfNeeded()
    {
        if (!OwnershipClaimed)
        {
            Publish(draining: false);
            OwnershipClaimed = true;
        }
    }

    public void Append(IReadOnlyList<byte[]> records, ModelProducer? producer = null, string? streamSeq = null)
    {
        Records.AddRange(records);
        if (producer is not null || streamSeq is not null)
        {
            marks.Add(new AppendMark(Count, producer, streamSeq, incarnation));
        }
    }

    /// <summary>
    /// A producer's last accepted (epoch, seq) among the appends the stream holds now: a restore
    /// keeps exactly the producer state of the records it keeps.
    /// </summary>
    public ModelProducer? Producer(string producerId) => marks.LastOrDefault(mark => mark.Producer?.Id == producerId)?.Producer;

    /// <summary>True when the producer's state was set before the last restart or restore.</summary>
    public bool IsFromEarlierIncarnation(string producerId) =>
        marks.LastOrDefault(mark => mark.Producer?.Id == producerId) is { } mark && mark.Incarnation < incarnation;

    /// <summary>The last Stream-Seq accepted among the appends the stream holds now.</summary>
    public string? LastStreamSeq => marks.LastOrDefault(mark => mark.StreamSeq is not null)?.StreamSeq;

    /// <summary>
    /// What the uploader's non-draining round publishes (<c>FindStreamsToPublish</c>): a stream never
    /// published, one with sealed records its last publish did not cover, a closure not yet
    /// published once everything is sealed, or a layout a compaction changed.
    /// </summary>
    public bool BehindForUploader(bool layoutChanged) =>
        Presence == Presence.Live &&
        (LocallyPublished is null ||
         LocallyPublished.NextPosition < Sealed ||
         (Closed && !LocallyPublished.Closed && Sealed == Count) ||
         layoutChanged);

    /// <summary>Records waiting in the WAL: the segmenter's forced round seals them.</summary>
    public bool HasUnsealed => Presence == Presence.Live && Sealed < Count;

    public void Close() => Closed = true;

    public void Seal() => Sealed = Count;

    /// <summary>
    /// A manifest lists the sealed segments; it states the closure only when it covers every record,
    /// and a clean drain only when it covers every record and the owner stops appending (a drain,
    /// or a closed stream).
    /// </summary>
    public void Publish(bool draining)
    {
        PublishToStoreOnly(draining);
        LocallyPublished = Manifest;
        if (Manifest!.DrainedClean)
        {
            // The manifest says this owner stops here; appending again needs a new claim.
            OwnershipClaimed = false;
        }
    }

    /// <summary>
    /// The manifest reached the object store, but the node crashed before recording it locally. A
    /// manifest that says the owner stopped appending was preceded by a local release of the
    /// ownership, so appending again needs a new claim all the same.
    /// </summary>
    public void PublishToStoreOnly(bool draining)
    {
        var complete = Sealed == Count;
        Manifest = new PublishedManifest(Sealed, complete && Closed, complete && (draining || Closed), Epochs);
        if (Manifest.DrainedClean && !Closed)
        {
            OwnershipClaimed = false;
        }
    }

    /// <summary>
    /// Under lazy restore an idle owner drops a stream's local rows once the object store holds all
    /// of it as far as the local index knows; the next touch hydrates it again from the manifest.
    /// </summary>
    public bool EvictableWhenIdle =>
        Presence == Presence.Live && LocallyPublished is { } published &&
        published.NextPosition == Count && published.Closed == Closed;

    /// <summary>The node stops, maybe loses its disk, and starts again in <paramref name="mode"/>.</summary>
    public void Restart(bool loseDisk, RestoreMode mode)
    {
        incarnation++;
        if (!loseDisk)
        {
            // Everything acknowledged is in the local index; only a stream the index lacks is restored.
            if (Presence == Presence.RemoteOnly && mode != RestoreMode.None)
            {
                RestoreFromManifest();
            }

            return;
        }

        if (Manifest is null)
        {
            // Never published: nothing anywhere remembers this stream. A later PUT starts a new
            // stream whose offsets owe nothing to this one's.
            Presence = Presence.Absent;
            Records.Clear();
            marks.Clear();
            Closed = false;
            Sealed = 0;
            Epochs = ModelEpochs.Initial;
            LocallyPublished = null;
            handedOut.Clear();
            return;
        }

        if (mode == RestoreMode.None)
        {
            Presence = Presence.RemoteOnly;
            Truncate(Manifest.NextPosition);
            return;
        }

        RestoreFromManifest();
    }

    /// <summary>
    /// Rebuilds the stream from its manifest: exactly the published prefix; an owner that did not
    /// drain cleanly may have acknowledged more, so new offsets start a new epoch.
    /// </summary>
    public void RestoreFromManifest()
    {
        var manifest = Manifest ?? throw new InvalidOperationException($"{Name} has no manifest to restore from");
        incarnation++;
        Presence = Presence.Live;
        Truncate(manifest.NextPosition);
        Closed = manifest.Closed;
        Sealed = manifest.NextPosition;
        OwnershipClaimed = false;
        Epochs = manifest.DrainedClean ? manifest.Epochs : manifest.Epochs.Bump(manifest.NextPosition);
        LocallyPublished = manifest;
    }

    /// <summary>Keeps the first <paramref name="count"/> records; a manifest always ends at an append's end.</summary>
    private void Truncate(int count)
    {
        Records.RemoveRange(count, Count - count);
        marks.RemoveAll(mark => mark.EndPosition > count);
    }

    /// <summary>True when the records an offset was handed out after are still the stream's first records.</summary>
    public bool IsCurrentPrefix(byte[][] prefix) =>
        prefix.Length <= Count && prefix.Select((record, i) => record.AsSpan().SequenceEqual(Records[i])).All(same => same);

    /// <summary>How many leading records <paramref name="prefix"/> shares with the stream now.</summary>
    public int CommonPrefixLength(byte[][] prefix)
    {
        var length = 0;
        while (length < prefix.Length && length < Count && prefix[length].AsSpan().SequenceEqual(Records[length]))
        {
            length++;
        }

        return length;
    }

    /// <summary>
    /// Remembers that the server handed out <paramref name="offset"/> for the boundary after the
    /// first <paramref name="position"/> records; fails if it once named a different history.
    /// </summary>
    public void RecordHandedOut(Offset offset, int position, string context)
    {
        if (offset.Position != position)
        {
            throw new ReadEquivalenceViolation($"{context}: offset {offset} names position {offset.Position}, expected {position}");
        }

        var prefix = Records.Take(position).ToArray();
        if (handedOut.TryGetValue(offset, out var earlier))
        {
            if (earlier.Length != prefix.Length || !earlier.Zip(prefix).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second)))
            {
                throw new ReadEquivalenceViolation(
                    $"{context}: offset {offset} is reused for different data: it was handed out after records " +
                    $"{Describe(earlier)}, and now after {Describe(prefix)}");
            }

            return;
        }

        handedOut[offset] = prefix;
    }

    public override string ToString() =>
        $"{Name}: {Presence}, {(Json ? "json" : "bytes")}, {Count} records, sealed {Sealed}, " +
        $"{(Closed ? "closed" : "open")}, {(OwnershipClaimed ? "claimed" : "unclaimed")}, epochs {Epochs}, " +
        $"manifest {Describe(Manifest)}, locally published {Describe(LocallyPublished)}" +
        string.Concat(marks.Select(mark => mark.Producer?.Id).Distinct().OfType<string>().Select(id => $", {Producer(id)}")) +
        (LastStreamSeq is { } seq ? $", Stream-Seq {seq}" : string.Empty);

    private static string Describe(PublishedManifest? manifest) =>
        manifest is { } m
            ? $"next {m.NextPosition}{(m.Closed ? " closed" : string.Empty)}{(m.DrainedClean ? " clean" : string.Empty)} epochs {m.Epochs}"
            : "none";

    public static string Describe(IReadOnlyList<byte[]> records)
    {
        const int shown = 6;
        var described = records.TakeLast(shown).Select(RecordText);
        return $"[{(records.Count > shown ? "…, " : string.Empty)}{string.Join(", ", described)}] ({records.Count} records)";
    }

    public static string RecordText(byte[] record)
    {
        const int shownBytes = 12;
        var text = System.Text.Encoding.UTF8.GetString(record.AsSpan(0, Math.Min(record.Length, shownBytes)));
        return record.Length > shownBytes ? $"{text}…({record.Length} B)" : text;
    }
}

/// <summary>An idempotent producer's accepted (epoch, seq), as the model keeps it.</summary>
public sealed record ModelProducer(string Id, long Epoch, long Seq)
{
    public override string ToString() => $"{Id} e{Epoch} s{Seq}";
}

/// <summary>What an accepted append carried, and the position after its last record.</summary>
public sealed record AppendMark(int EndPosition, ModelProducer? Producer, string? StreamSeq, int Incarnation);

/// <summary>The node under test disagreed with the model.</summary>
public sealed class ReadEquivalenceViolation(string message) : Exception(message);
