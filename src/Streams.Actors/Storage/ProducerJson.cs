using System.Text.Json;
using System.Text.Json.Serialization;
using Streams.Actors.Domain;

namespace Streams.Actors.Storage;

/// <summary>Producer lists stored as JSON in the index: [{"id":..,"epoch":..,"seq":..}].</summary>
internal static class ProducerJson
{
    public static string Serialize(IEnumerable<ProducerState> producers) =>
        JsonSerializer.Serialize(
            producers.Select(p => new ManifestProducer(p.ProducerId, p.Epoch, p.LastSeq)).ToList(),
            ProducerJsonContext.Default.ListManifestProducer);

    public static IReadOnlyList<ProducerState> Deserialize(string? json) =>
        string.IsNullOrEmpty(json)
            ? []
            : (JsonSerializer.Deserialize(json, ProducerJsonContext.Default.ListManifestProducer) ?? [])
                .Select(p => new ProducerState(p.Id, p.Epoch, p.Seq))
                .ToList();

    /// <summary>Applies later updates over a base list; the latest state of each producer wins.</summary>
    public static List<ProducerState> Fold(IEnumerable<ProducerState> baseline, IEnumerable<ProducerState> updates)
    {
        var byId = new Dictionary<string, ProducerState>(StringComparer.Ordinal);
        foreach (var producer in baseline.Concat(updates))
        {
            byId[producer.ProducerId] = producer;
        }

        return [.. byId.Values.OrderBy(p => p.ProducerId, StringComparer.Ordinal)];
    }
}

[JsonSerializable(typeof(List<ManifestProducer>))]
internal sealed partial class ProducerJsonContext : JsonSerializerContext;
