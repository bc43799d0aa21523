using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Streams.Actors.Domain;

namespace Streams.Tests.Property;

/// <summary>A JSON request body: its exact text, as a client would send it.</summary>
public sealed record JsonBody(string Text)
{
    public JsonNode? Parse() => JsonNode.Parse(Text);

    public override string ToString() => Text;
}

/// <summary>A JSON body whose top-level value is not an array (object, string, number, bool, null).</summary>
public sealed record SingleJsonBody(JsonBody Body)
{
    public override string ToString() => Body.Text;
}

/// <summary>A JSON body whose top-level value is an array (possibly empty, possibly nested).</summary>
public sealed record ArrayJsonBody(JsonBody Body)
{
    public override string ToString() => Body.Text;
}

/// <summary>A stream's epoch history (bumped at non-decreasing positions) and two positions, earlier ≤ later.</summary>
public sealed record EpochTimeline(IReadOnlyList<long> BumpPositions, long Earlier, long Later)
{
    public EpochHistory History() => BumpPositions.Aggregate(EpochHistory.Initial, (history, position) => history.Bump(position));

    public override string ToString() => $"bumps at [{string.Join(", ", BumpPositions)}], positions {Earlier} ≤ {Later}";
}

/// <summary>
/// Generators of the engine's domain properties. Register with
/// <c>[Property(Arbitrary = [typeof(EngineGenerators)])]</c>: each public static method returning an
/// <see cref="Arbitrary{T}"/> is the default for its type. Every arbitrary shrinks towards small,
/// readable values.
/// </summary>
public static class EngineGenerators
{
    /// <summary>Offsets encode epochs and positions in 16 decimal digits: both lie in [0, 10^16).</summary>
    public const long OffsetPartLimit = 10_000_000_000_000_000;

    private const int HalfDigits = 100_000_000;
    private const int MaxJsonDepth = 4;
    private const int MaxJsonChildren = 5;

    public static Arbitrary<Offset> Offsets() =>
        Arb.From(
            from epoch in OffsetPart(smallRange: 4)
            from position in OffsetPart(smallRange: 1_000)
            select new Offset(epoch, position),
            offset =>
                ShrinkOffsetPart(offset.Epoch).Select(epoch => offset with { Epoch = epoch })
                    .Concat(ShrinkOffsetPart(offset.Position).Select(position => offset with { Position = position })));

    public static Arbitrary<SingleJsonBody> SingleJsonBodies() =>
        Arb.From(
            Body(AnyJson(MaxJsonDepth).Where(node => node is not JsonArray)).Select(body => new SingleJsonBody(body)),
            single => ShrinkBody(single.Body).Where(body => body.Parse() is not JsonArray).Select(body => new SingleJsonBody(body)));

    public static Arbitrary<ArrayJsonBody> ArrayJsonBodies() =>
        Arb.From(
            Body(JsonArrayOf(MaxJsonDepth - 1).Select(array => (JsonNode?)array)).Select(body => new ArrayJsonBody(body)),
            array => ShrinkBody(array.Body).Where(body => body.Parse() is JsonArray).Select(body => new ArrayJsonBody(body)));

    public static Arbitrary<EpochTimeline> EpochTimelines() =>
        Arb.From(
            from gaps in Gen.Choose(0, 6).SelectMany(count => Gen.Choose(0, 50).ArrayOf(count))
            let bumps = RunningSums(gaps)
            let span = (bumps.Count == 0 ? 0 : bumps[^1]) + 20
            from first in Gen.Choose(0, (int)span)
            from second in Gen.Choose(0, (int)span)
            select new EpochTimeline(bumps, Math.Min(first, second), Math.Max(first, second)),
            ShrinkTimeline);

    // ---- offsets -------------------------------------------------------------------------------

    /// <summary>Mostly small values (so equal parts are common), the edges, and the full 16-digit range.</summary>
    private static Gen<long> OffsetPart(int smallRange) =>
        Gen.Frequency(
            (3, Gen.Choose(0, smallRange).Select(value => (long)value)),
            (1, Gen.Elements(0L, 1L, 9L, 10L, 99_999_999L, 100_000_000L, OffsetPartLimit / 10, OffsetPartLimit - 1)),
            (3, Gen.Zip(Gen.Choose(0, HalfDigits - 1), Gen.Choose(0, HalfDigits - 1), (high, low) => ((long)high * HalfDigits) + low)));

    private static IEnumerable<long> ShrinkOffsetPart(long value)
    {
        if (value == 0)
        {
            yield break;
        }

        yield return 0;
        for (var smaller = value / 2; smaller > 0; smaller /= 2)
        {
            yield return value - smaller;
        }
    }

    // ---- JSON ----------------------------------------------------------------------------------

    private static Gen<JsonBody> Body(Gen<JsonNode?> values) =>
        from value in values
        from indented in Gen.Elements(false, true)
        select new JsonBody(Serialize(value, indented));

    private static Gen<JsonNode?> AnyJson(int depth) =>
        depth <= 0
            ? JsonScalar()
            : Gen.Frequency(
                (3, JsonScalar()),
                (1, JsonArrayOf(depth - 1).Select(array => (JsonNode?)array)),
                (1, JsonObjectOf(depth - 1).Select(obj => (JsonNode?)obj)));

    private static Gen<JsonArray> JsonArrayOf(int depth) =>
        Gen.Choose(0, MaxJsonChildren)
            .SelectMany(count => AnyJson(depth).ArrayOf(count))
            .Select(items => new JsonArray(items));

    private static Gen<JsonObject> JsonObjectOf(int depth) =>
        Gen.Choose(0, MaxJsonChildren)
            .SelectMany(count => Gen.Zip(JsonString(), AnyJson(depth)).ArrayOf(count))
            .Select(members =>
            {
                var obj = new JsonObject();
                foreach (var (name, value) in members.DistinctBy(member => member.Item1, StringComparer.Ordinal))
                {
                    obj[name] = value;
                }

                return obj;
            });

    private static Gen<JsonNode?> JsonScalar() =>
        Gen.OneOf(
            Gen.Constant<JsonNode?>(null),
            Gen.Elements(true, false).Select(value => (JsonNode?)JsonValue.Create(value)),
            Gen.Choose(int.MinValue, int.MaxValue).Select(value => (JsonNode?)JsonValue.Create(value)),
            Gen.Elements(0.5, -1.25, 3.141592653589793, 1e-7, 6.02214076e23, double.MaxValue).Select(value => (JsonNode?)JsonValue.Create(value)),
            JsonString().Select(value => (JsonNode?)JsonValue.Create(value)));

    /// <summary>Plain words, characters JSON must escape, and non-ASCII text (including a surrogate pair).</summary>
    private static Gen<string> JsonString() =>
        Gen.OneOf(
            Gen.Elements("", "a", "key", "with space", "quote\"inside", "back\\slash", "line\nbreak", "tab\t", "\u0001", "é", "漢字", "😀", "[1,2]", "</script>"),
            Gen.Choose(32, 126).Select(code => (char)code).ArrayOf(6).Select(chars => new string(chars)));

    /// <summary>Relaxed escaping keeps non-ASCII text as raw UTF-8, which the splitter must pass through intact.</summary>
    private static string Serialize(JsonNode? value, bool indented) =>
        value is null
            ? "null"
            : value.ToJsonString(new JsonSerializerOptions { WriteIndented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>Smaller bodies: drop one element or member, or shrink one child, keeping the layout.</summary>
    private static IEnumerable<JsonBody> ShrinkBody(JsonBody body)
    {
        var indented = body.Text.Contains('\n', StringComparison.Ordinal);
        return ShrinkNode(body.Parse()).Select(smaller => new JsonBody(Serialize(smaller, indented)));
    }

    private static IEnumerable<JsonNode?> ShrinkNode(JsonNode? node)
    {
        switch (node)
        {
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var without = (JsonArray)array.DeepClone();
                    without.RemoveAt(i);
                    yield return without;
                }

                for (var i = 0; i < array.Count; i++)
                {
                    foreach (var child in ShrinkNode(array[i]))
                    {
                        var copy = (JsonArray)array.DeepClone();
                        copy[i] = child?.DeepClone();
                        yield return copy;
                    }
                }

                break;
            case JsonObject obj:
                foreach (var (name, _) in obj)
                {
                    var without = (JsonObject)obj.DeepClone();
                    without.Remove(name);
                    yield return without;
                }

                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String && value.GetValue<string>().Length > 0:
                yield return JsonValue.Create(string.Empty);
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.Number && value.ToJsonString() != "0":
                yield return JsonValue.Create(0);
                break;
        }
    }

    // ---- epochs --------------------------------------------------------------------------------

    private static List<long> RunningSums(IEnumerable<int> gaps)
    {
        var sums = new List<long>();
        long total = 0;
        foreach (var gap in gaps)
        {
            total += gap;
            sums.Add(total);
        }

        return sums;
    }

    private static IEnumerable<EpochTimeline> ShrinkTimeline(EpochTimeline timeline)
    {
        for (var i = 0; i < timeline.BumpPositions.Count; i++)
        {
            yield return timeline with { BumpPositions = [.. timeline.BumpPositions.Where((_, index) => index != i)] };
        }

        if (timeline.Earlier > 0)
        {
            yield return timeline with { Earlier = timeline.Earlier - 1 };
        }

        if (timeline.Later > timeline.Earlier)
        {
            yield return timeline with { Later = timeline.Later - 1 };
        }
    }
}
