using System.Globalization;

namespace Streams.Actors.Domain;

/// <summary>
/// A position in a stream as clients see it: <c>EEEEEEEEEEEEEEEE_SSSSSSSSSSSSSSSS</c>, the writer
/// epoch and the number of records before the position, both 16-digit zero-padded decimals so
/// that lexicographic order equals numeric order.
/// </summary>
public readonly record struct Offset(long Epoch, long Position) : IComparable<Offset>
{
    private const int DigitsPerPart = 16;
    private const int EncodedLength = (DigitsPerPart * 2) + 1;
    private const char Separator = '_';

    public static Offset Zero => new(0, 0);

    public int CompareTo(Offset other)
    {
        var byEpoch = Epoch.CompareTo(other.Epoch);
        return byEpoch != 0 ? byEpoch : Position.CompareTo(other.Position);
    }

    public override string ToString() =>
        string.Create(EncodedLength, this, static (span, offset) =>
        {
            offset.Epoch.TryFormat(span[..DigitsPerPart], out _, "D16", CultureInfo.InvariantCulture);
            span[DigitsPerPart] = Separator;
            offset.Position.TryFormat(span[(DigitsPerPart + 1)..], out _, "D16", CultureInfo.InvariantCulture);
        });

    /// <summary>Accepts exactly the shape this server emits; anything else is not an offset.</summary>
    public static bool TryParse(string? text, out Offset offset)
    {
        offset = default;
        if (text is null || text.Length != EncodedLength || text[DigitsPerPart] != Separator)
        {
            return false;
        }

        if (!TryParseDigits(text.AsSpan(0, DigitsPerPart), out var epoch) ||
            !TryParseDigits(text.AsSpan(DigitsPerPart + 1), out var position))
        {
            return false;
        }

        offset = new Offset(epoch, position);
        return true;
    }

    private static bool TryParseDigits(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        foreach (var c in digits)
        {
            // char.IsAsciiDigit rather than long.Parse: no signs, spaces or culture-specific digits.
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}

/// <summary>Where a read starts: the beginning (<c>-1</c>), the current tail (<c>now</c>) or an offset.</summary>
public readonly record struct ReadStart(ReadStartKind Kind, Offset Offset)
{
    public static ReadStart Beginning => new(ReadStartKind.Beginning, default);

    public static ReadStart Tail => new(ReadStartKind.Tail, default);

    public static ReadStart At(Offset offset) => new(ReadStartKind.Offset, offset);

    public static bool TryParse(string? text, out ReadStart start)
    {
        switch (text)
        {
            case "-1":
                start = Beginning;
                return true;
            case "now":
                start = Tail;
                return true;
        }

        var parsed = Offset.TryParse(text, out var offset);
        start = parsed ? At(offset) : default;
        return parsed;
    }
}

public enum ReadStartKind
{
    Beginning,
    Tail,
    Offset,
}
