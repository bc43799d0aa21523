using System.Collections;
using Akka.Serialization;
using Newtonsoft.Json;

namespace Streams.Actors.Hosting;

/// <summary>
/// What the actor system's JSON serializer needs beyond its defaults for the messages that cross
/// remoting between cluster nodes.
/// </summary>
public static class RemotingSerialization
{
    /// <summary>Adds <see cref="CompilerCollectionConverter"/> to the serializer's settings.</summary>
    public static NewtonSoftJsonSerializerSetup Setup { get; } =
        NewtonSoftJsonSerializerSetup.Create(settings => settings.Converters.Add(new CompilerCollectionConverter()));

    /// <summary>
    /// Writes the collections a C# collection expression creates (<c>[record]</c> given to an
    /// <c>IReadOnlyList&lt;T&gt;</c> parameter) as a <see cref="List{T}"/>. The serializer names
    /// every value's runtime type, and those compiler-made types have no constructor it can call,
    /// so another node failed to rebuild such a message and dropped it. Writing them as a list
    /// makes any collection expression safe in a message, instead of relying on every call site
    /// to remember an array.
    /// </summary>
    public sealed class CompilerCollectionConverter : JsonConverter
    {
        private const string CompilerTypePrefix = "<>z__";

        public override bool CanRead => false;

        public override bool CanConvert(Type objectType) =>
            objectType.Name.StartsWith(CompilerTypePrefix, StringComparison.Ordinal) && ElementType(objectType) is not null;

        public override void WriteJson(JsonWriter writer, object? value, JsonSerializer serializer)
        {
            if (value is null)
            {
                writer.WriteNull();
                return;
            }

            var elementType = ElementType(value.GetType())!;
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType))!;
            foreach (var item in (IEnumerable)value)
            {
                list.Add(item);
            }

            serializer.Serialize(writer, list);
        }

        public override object ReadJson(JsonReader reader, Type objectType, object? existingValue, JsonSerializer serializer) =>
            throw new NotSupportedException("written as List<T>, read as List<T>");

        private static Type? ElementType(Type collectionType) =>
            collectionType.GetInterfaces()
                .FirstOrDefault(candidate => candidate.IsGenericType && candidate.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                ?.GetGenericArguments()[0];
    }
}
