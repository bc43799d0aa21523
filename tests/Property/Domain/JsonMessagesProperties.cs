using System.Text;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Streams.Actors.Domain;
using Xunit;

namespace Streams.Tests.Property.Domain;

/// <summary>JSON mode: a body is one message, unless it is an array, which is flattened exactly one level.</summary>
[Properties(Arbitrary = [typeof(EngineGenerators)], MaxTest = 500)]
public sealed class JsonMessagesProperties
{
    [Property]
    public void A_body_that_is_not_an_array_is_one_message_equal_to_itself(SingleJsonBody single)
    {
        Assert.True(JsonMessages.TrySplit(Utf8(single.Body), out var messages));

        var message = Assert.Single(messages);
        Assert.True(JsonNode.DeepEquals(single.Body.Parse(), ParseMessage(message)), $"message {Encoding.UTF8.GetString(message)}");
    }

    [Property]
    public void An_array_body_yields_exactly_its_elements_in_order(ArrayJsonBody array)
    {
        var elements = (JsonArray)array.Body.Parse()!;

        Assert.True(JsonMessages.TrySplit(Utf8(array.Body), out var messages));

        Assert.Equal(elements.Count, messages.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(elements[i], ParseMessage(messages[i])), $"element {i}: {Encoding.UTF8.GetString(messages[i])}");
        }
    }

    [Property]
    public void Joining_the_messages_of_an_array_body_rebuilds_the_array(ArrayJsonBody array)
    {
        Assert.True(JsonMessages.TrySplit(Utf8(array.Body), out var messages));

        var joined = JsonMessages.ToArray([.. messages.Select(message => (ReadOnlyMemory<byte>)message)]);

        Assert.True(JsonNode.DeepEquals(array.Body.Parse(), JsonNode.Parse(joined)), $"joined {Encoding.UTF8.GetString(joined)}");
    }

    [Property]
    public void Joining_single_bodies_as_messages_gives_an_array_of_them(SingleJsonBody[] bodies)
    {
        var joined = JsonMessages.ToArray([.. bodies.Select(body => (ReadOnlyMemory<byte>)Utf8(body.Body))]);

        var parsed = Assert.IsType<JsonArray>(JsonNode.Parse(joined));
        Assert.Equal(bodies.Length, parsed.Count);
        for (var i = 0; i < bodies.Length; i++)
        {
            Assert.True(JsonNode.DeepEquals(bodies[i].Body.Parse(), parsed[i]));
        }
    }

    private static byte[] Utf8(JsonBody body) => Encoding.UTF8.GetBytes(body.Text);

    private static JsonNode? ParseMessage(byte[] message) => JsonNode.Parse(message);
}
