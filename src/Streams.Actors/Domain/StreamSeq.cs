using System.Text;

namespace Streams.Actors.Domain;

/// <summary><c>Stream-Seq</c> values are opaque and ordered byte-wise, never by culture.</summary>
public static class StreamSeq
{
    public static int Compare(string left, string right) =>
        Encoding.UTF8.GetBytes(left).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(right));
}
