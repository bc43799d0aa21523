using System.Text.Json;
using Streams.Actors.Domain;

namespace Streams.Actors.Subscriptions;

/// <summary>The JSON a subscription sends: webhook deliveries and pull-wake wake events.</summary>
public static class WakePayloads
{
    public static byte[] WebhookBody(string subscriptionId, string wakeId, long generation, IReadOnlyList<StreamProgress> streams, string callbackUrl, string callbackToken) =>
        Write(writer =>
        {
            writer.WriteString("subscription_id", subscriptionId);
            writer.WriteString("wake_id", wakeId);
            writer.WriteNumber("generation", generation);
            writer.WritePropertyName("streams");
            WriteStreams(writer, streams, withTails: true);
            writer.WriteString("callback_url", callbackUrl);
            writer.WriteString("callback_token", callbackToken);
        });

    /// <summary>One record for the wake stream: <c>{type: "wake", subscription_id, stream, generation, ts}</c>.</summary>
    public static byte[] WakeEvent(string subscriptionId, string stream, long generation, DateTimeOffset now) =>
        Write(writer =>
        {
            writer.WriteString("type", "wake");
            writer.WriteString("subscription_id", subscriptionId);
            writer.WriteString("stream", stream);
            writer.WriteNumber("generation", generation);
            writer.WriteNumber("ts", now.ToUnixTimeMilliseconds());
        });

    /// <summary><c>[{path, link_type, acked_offset[, tail_offset, has_pending]}]</c>.</summary>
    public static void WriteStreams(Utf8JsonWriter writer, IReadOnlyList<StreamProgress> streams, bool withTails)
    {
        writer.WriteStartArray();
        foreach (var stream in streams)
        {
            writer.WriteStartObject();
            writer.WriteString("path", stream.Path);
            writer.WriteString("link_type", stream.LinkType);
            writer.WriteString("acked_offset", stream.AckedOffset.ToString());
            if (withTails)
            {
                writer.WriteString("tail_offset", stream.TailOffset.ToString());
                writer.WriteBoolean("has_pending", stream.HasPending);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    public static byte[] Write(Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
