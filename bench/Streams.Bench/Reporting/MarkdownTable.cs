using System.Globalization;
using System.Text;

namespace Streams.Bench.Reporting;

/// <summary>A markdown table built row by row, with columns padded so the plain text reads well too.</summary>
public sealed class MarkdownTable(params string[] headers)
{
    private readonly List<string[]> rows = [];

    public void Add(params object?[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }

        rows.Add([.. cells.Select(Format)]);
    }

    public override string ToString()
    {
        var widths = headers.Select((header, column) => rows.Select(row => row[column].Length).Prepend(header.Length).Max()).ToArray();
        var text = new StringBuilder();
        AppendRow(text, headers, widths);
        AppendRow(text, [.. widths.Select(width => new string('-', width))], widths);
        foreach (var row in rows)
        {
            AppendRow(text, row, widths);
        }

        return text.ToString();
    }

    public static string Milliseconds(double value) =>
        double.IsNaN(value) ? "n/a" : value.ToString(value >= 100 ? "N0" : value >= 1 ? "N1" : "N2", CultureInfo.InvariantCulture);

    public static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("N2", CultureInfo.InvariantCulture) + " s";

    private static string Format(object? cell) => cell switch
    {
        null => string.Empty,
        double value => Milliseconds(value),
        TimeSpan value => Seconds(value),
        int value => value.ToString("N0", CultureInfo.InvariantCulture),
        long value => value.ToString("N0", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? string.Empty,
    };

    private static void AppendRow(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        text.Append('|');
        for (var column = 0; column < cells.Count; column++)
        {
            text.Append(' ').Append(cells[column].PadRight(widths[column])).Append(" |");
        }

        text.Append('\n');
    }
}
