using System.Text;

namespace Streams.Tests.Fuzz;

/// <summary>
/// One generated request. <paramref name="Target"/> is the request target exactly as sent (path and
/// query, already percent-encoded or deliberately not); <paramref name="Raw"/> requests go over a
/// bare socket so that bytes an HTTP client would refuse to send (NUL, raw non-ASCII, broken
/// framing) reach the server.
/// </summary>
internal sealed record HostileRequest(string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body, bool Raw, string? RawFraming = null)
{
    /// <summary>What a failure message shows: enough to replay the request, long values cut.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Raw ? "raw " : string.Empty).Append(Method).Append(' ').Append(Cut(Target));
        foreach (var (name, value) in Headers)
        {
            text.Append(" | ").Append(name).Append(": ").Append(Cut(value));
        }

        text.Append(" | body ").Append(Body.Length).Append(" bytes: ").Append(Cut(Encoding.UTF8.GetString(Body)));
        if (RawFraming is not null)
        {
            text.Append(" | framing ").Append(RawFraming);
        }

        return text.ToString();
    }

    private static string Cut(string value) =>
        value.Length <= 120 ? Escape(value) : $"{Escape(value[..120])}...({value.Length} chars)";

    private static string Escape(string value) =>
        string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
