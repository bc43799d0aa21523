using System.Text;
using Streams.Tests.Support;

namespace Streams.Tests.Property.Pipeline;

/// <summary>
/// One generated run of the seal → upload → publish pipeline: a few streams, a segment cache
/// budget for reads, and the steps to apply in order.
/// </summary>
public sealed record PipelineSchedule(int StreamCount, long CacheBudgetBytes, IReadOnlyList<PipelineStep> Steps)
{
    public override string ToString()
    {
        var text = new StringBuilder($"PipelineSchedule({StreamCount} streams, cache {CacheBudgetBytes} B, {Steps.Count} steps:");
        foreach (var step in Steps)
        {
            text.Append("\n  ").Append(step);
        }

        return text.Append(')').ToString();
    }
}

/// <summary>One step of a <see cref="PipelineSchedule"/>.</summary>
public abstract record PipelineStep;

/// <summary>Appends records of the given payload sizes to one stream (contents derive from stream and position).</summary>
public sealed record AppendStep(int Stream, IReadOnlyList<int> PayloadSizes) : PipelineStep
{
    public override string ToString() => $"Append(stream {Stream}, sizes [{string.Join(", ", PayloadSizes)}])";
}

/// <summary>Runs one sealing round with these thresholds; <see cref="Force"/> seals whatever is waiting.</summary>
public sealed record SealStep(int TargetRows, int TargetBytes, bool Force) : PipelineStep
{
    public override string ToString() => $"Seal(rows {TargetRows}, bytes {TargetBytes}{(Force ? ", forced" : string.Empty)})";
}

/// <summary>
/// Publishes one stream, or every stream when <see cref="Stream"/> is null. The object store
/// answers its calls with <see cref="Faults"/> in order, then normally.
/// </summary>
public sealed record PublishStep(int? Stream, bool Draining, IReadOnlyList<InjectedFault> Faults) : PipelineStep
{
    public override string ToString() =>
        $"Publish({(Stream is { } stream ? $"stream {stream}" : "all")}{(Draining ? ", draining" : string.Empty)}, faults [{string.Join(", ", Faults)}])";
}

/// <summary>Stops the WAL writer and reopens everything from disk, as a clean restart does.</summary>
public sealed record RestartStep : PipelineStep
{
    public override string ToString() => "Restart";
}

/// <summary>Reads every position while each object-store Get returns a truncated object, then again normally.</summary>
public sealed record ShortReadStep : PipelineStep
{
    public override string ToString() => "ReadWithShortReads";
}
