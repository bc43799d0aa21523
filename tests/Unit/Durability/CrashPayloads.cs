using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Streams.Tests.Unit.Durability;

/// <summary>Which writer sent a record, and its counter (for an idempotent producer: its Producer-Seq).</summary>
internal readonly record struct RecordId(string Writer, long Counter)
{
    public override string ToString() => $"{Writer}#{Counter}";
}

/// <summary>A record as read back: who wrote it and its exact bytes.</summary>
internal sealed record ReadRecord(RecordId Id, byte[] Bytes);

/// <summary>
/// Self-describing payloads: each names its writer and counter and carries a checksum over
/// everything else, so a record read back after a crash can be told whole, truncated, interleaved
/// or foreign without knowing where it came from.
///
/// Binary: <c>&lt;writer|counter(8)|length(6)|body|checksum(8)&gt;</c> where the body is arbitrary
/// bytes. JSON: a compact object <c>{"w":writer,"n":counter,"fill":base64,"sum":checksum}</c>.
/// </summary>
internal static class CrashPayloads
{
    private const int ChecksumHexDigits = 8;
    private const int CounterDigits = 8;
    private const int LengthDigits = 6;
    private const int SmallBodyMax = 2048;
    private const int LargeBody = 48 * 1024;
    private const int OneInLarge = 50;

    public static byte[] Create(bool json, RecordId id, Random random)
    {
        // Mostly small records, now and then a large one so a kill can land inside a bigger commit.
        var length = random.Next(OneInLarge) == 0 ? LargeBody : random.Next(SmallBodyMax + 1);
        var body = new byte[length];
        random.NextBytes(body);
        return json ? Json(id, body) : Binary(id, body);
    }

    /// <summary>Splits a binary page into records; throws <see cref="FormatException"/> on anything that is not whole records.</summary>
    public static List<ReadRecord> ParseBinary(ReadOnlySpan<byte> page)
    {
        var records = new List<ReadRecord>();
        var at = 0;
        while (at < page.Length)
        {
            var start = at;
            Expect(page, ref at, (byte)'<', start);
            var writer = Encoding.ASCII.GetString(Until(page, ref at, (byte)'|', start));
            var counter = Digits(page, ref at, CounterDigits, start);
            Expect(page, ref at, (byte)'|', start);
            var length = (int)Digits(page, ref at, LengthDigits, start);
            Expect(page, ref at, (byte)'|', start);
            if (at + length + 1 + ChecksumHexDigits + 1 > page.Length)
            {
                throw new FormatException($"record at byte {start} is truncated: its body needs {length} bytes");
            }

            var covered = page[start..(at + length)];
            at += length;
            Expect(page, ref at, (byte)'|', start);
            var checksum = Encoding.ASCII.GetString(page.Slice(at, ChecksumHexDigits));
            at += ChecksumHexDigits;
            Expect(page, ref at, (byte)'>', start);
            if (checksum != Checksum(covered))
            {
                throw new FormatException($"record at byte {start} ({writer}#{counter}) fails its checksum");
            }

            records.Add(new ReadRecord(new RecordId(writer, counter), page[start..at].ToArray()));
        }

        return records;
    }

    /// <summary>Splits a JSON page (an array of messages) into records, checking each message's checksum.</summary>
    public static List<ReadRecord> ParseJson(ReadOnlySpan<byte> page)
    {
        var records = new List<ReadRecord>();
        using var document = JsonDocument.Parse(page.ToArray());
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("a JSON read did not return an array");
        }

        foreach (var message in document.RootElement.EnumerateArray())
        {
            var raw = Encoding.UTF8.GetBytes(message.GetRawText());
            if (message.ValueKind != JsonValueKind.Object ||
                !message.TryGetProperty("w", out var writer) ||
                !message.TryGetProperty("n", out var counter) ||
                !message.TryGetProperty("fill", out var fill) ||
                !message.TryGetProperty("sum", out var sum))
            {
                throw new FormatException($"message is not one of ours: {Encoding.UTF8.GetString(raw)}");
            }

            var id = new RecordId(writer.GetString()!, counter.GetInt64());
            if (sum.GetString() != Checksum(Encoding.UTF8.GetBytes(JsonCovered(id, fill.GetString()!))))
            {
                throw new FormatException($"message {id} fails its checksum");
            }

            records.Add(new ReadRecord(id, raw));
        }

        return records;
    }

    private static byte[] Binary(RecordId id, byte[] body)
    {
        var header = Encoding.ASCII.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $"<{id.Writer}|{id.Counter.ToString($"D{CounterDigits}", CultureInfo.InvariantCulture)}|{body.Length.ToString($"D{LengthDigits}", CultureInfo.InvariantCulture)}|"));
        var covered = header.Concat(body).ToArray();
        var trailer = Encoding.ASCII.GetBytes($"|{Checksum(covered)}>");
        return [.. covered, .. trailer];
    }

    private static byte[] Json(RecordId id, byte[] body)
    {
        var fill = Convert.ToBase64String(body);
        var sum = Checksum(Encoding.UTF8.GetBytes(JsonCovered(id, fill)));
        return Encoding.UTF8.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"w\":\"{id.Writer}\",\"n\":{id.Counter},\"fill\":\"{fill}\",\"sum\":\"{sum}\"}}"));
    }

    private static string JsonCovered(RecordId id, string fill) =>
        string.Create(CultureInfo.InvariantCulture, $"{id.Writer}|{id.Counter}|{fill}");

    private static string Checksum(ReadOnlySpan<byte> covered) =>
        Convert.ToHexStringLower(SHA256.HashData(covered))[..ChecksumHexDigits];

    private static void Expect(ReadOnlySpan<byte> page, ref int at, byte expected, int recordStart)
    {
        if (at >= page.Length || page[at] != expected)
        {
            throw new FormatException($"record at byte {recordStart}: expected '{(char)expected}' at byte {at}");
        }

        at++;
    }

    private static ReadOnlySpan<byte> Until(ReadOnlySpan<byte> page, ref int at, byte terminator, int recordStart)
    {
        var length = page[at..].IndexOf(terminator);
        if (length <= 0)
        {
            throw new FormatException($"record at byte {recordStart} has no writer name");
        }

        var value = page.Slice(at, length);
        at += length + 1;
        return value;
    }

    private static long Digits(ReadOnlySpan<byte> page, ref int at, int count, int recordStart)
    {
        if (at + count > page.Length)
        {
            throw new FormatException($"record at byte {recordStart} is truncated in its header");
        }

        long value = 0;
        foreach (var digit in page.Slice(at, count))
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                throw new FormatException($"record at byte {recordStart} has a non-digit in its header");
            }

            value = (value * 10) + (digit - '0');
        }

        at += count;
        return value;
    }
}
