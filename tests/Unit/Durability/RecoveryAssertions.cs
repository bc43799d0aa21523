using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Streams.Tests.Unit.Support;
using Xunit;

namespace Streams.Tests.Unit.Durability;

/// <summary>What every recovery must show, whatever state the crash left.</summary>
internal static class RecoveryAssertions
{
    /// <summary>Records in these tests have one fixed length, so record i starts at byte i × length.</summary>
    public const int RecordLength = 32;

    private static readonly TimeSpan PublishDeadline = TimeSpan.FromSeconds(120);

    /// <summary>Record <paramref name="index"/> of stream <paramref name="stream"/>: distinct, printable, fixed length.</summary>
    public static byte[] RecordAt(int stream, long index)
    {
        var text = $"s{stream:D3}-r{index:D8}-";
        return System.Text.Encoding.ASCII.GetBytes(text.PadRight(RecordLength, (char)('a' + (index % 26))));
    }

    public static byte[] FirstRecords(int stream, long count) =>
        [.. Enumerable.Range(0, (int)count).SelectMany(index => RecordAt(stream, index))];

    /// <summary>
    /// The server serves exactly <paramref name="count"/> records of the stream, each byte-for-byte
    /// at its own offset, from the start and from every offset.
    /// </summary>
    public static async Task AssertReadableAsync(StreamsHttpClient client, string name, int stream, long count)
    {
        var (bytes, tail) = await client.ReadToTailAsync(name);
        Assert.True(tail.Position == count, $"{name}: the tail is at {tail.Position}, {count} records were acknowledged");
        Assert.True(bytes.AsSpan().SequenceEqual(FirstRecords(stream, count)), $"{name}: the records read back differ from those appended");
        for (long index = 0; index < count; index++)
        {
            var (fromHere, _) = await client.ReadToTailAsync(name, new Offset(0, index));
            Assert.True(
                fromHere.AsSpan().SequenceEqual(bytes.AsSpan((int)(index * RecordLength))),
                $"{name}: a read from offset {index} does not return the records from {index} on");
        }
    }

    /// <summary>
    /// Eventually the manifest lists exactly <paramref name="count"/> records, equal to those
    /// appended; the store holds exactly the listed segments; <c>_details</c> shows everything
    /// uploaded and nothing pending.
    /// </summary>
    public static async Task AssertEventuallyPublishedAsync(StreamsHttpClient client, IObjectStore store, string name, int stream, long count)
    {
        await Eventually.AssertAsync(
            async () =>
            {
                var details = await client.DetailsAsync(name);
                Assert.Equal(details.GetProperty("next_offset").GetString(), details.GetProperty("uploaded_through").GetString());
                Assert.Equal(0, details.GetProperty("pending_rows").GetInt64());
                var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None);
                Assert.True(published is not null, $"{name} has no manifest");
                Assert.True(published.Manifest.NextPosition == count, $"{name}: the manifest lists {published.Manifest.NextPosition} records, expected {count}");
                Assert.True(
                    published.Records.SelectMany(record => record).SequenceEqual(FirstRecords(stream, count)),
                    $"{name}: the published records differ from those appended");
                Assert.Equal(details.GetProperty("manifest_generation").GetInt64(), published.Manifest.Generation);
                var stored = await PublishedStream.StoredSegmentNamesAsync(store, name, CancellationToken.None);
                var listed = PublishedStream.ListedSegmentNames(published.Manifest);
                Assert.True(
                    stored.Order(StringComparer.Ordinal).SequenceEqual(listed.Order(StringComparer.Ordinal)),
                    $"{name}: the store holds segments [{string.Join(", ", stored)}], the manifest lists [{string.Join(", ", listed)}]");
            },
            PublishDeadline);
    }

    /// <summary>No temp file of an interrupted write is left, locally or in the local-directory store.</summary>
    public static void AssertNoTempFiles(string dataDirectory, string objectsDirectory)
    {
        var segments = Path.Combine(dataDirectory, SegmentFiles.DirectoryName);
        var leftovers = (Directory.Exists(segments) ? Directory.EnumerateFiles(segments, "*", SearchOption.AllDirectories) : [])
            .Where(path => AtomicFile.IsTempFileName(Path.GetFileName(path)))
            .Concat(Directory.EnumerateFiles(objectsDirectory, "*" + ObjectKeyRules.ReservedSuffix, SearchOption.AllDirectories))
            .ToList();
        Assert.True(leftovers.Count == 0, $"temp files left behind: {string.Join(", ", leftovers)}");
    }

    /// <summary>Every local segment file of the stream is byte-for-byte the segment the manifest lists under its name.</summary>
    public static async Task AssertLocalSegmentFilesMatchAsync(string dataDirectory, IObjectStore store, string name)
    {
        var published = await PublishedStream.ReadAsync(store, name, CancellationToken.None)
            ?? throw new InvalidOperationException($"{name} has no manifest");
        var segments = published.Manifest.Segments;
        var directory = new SegmentFiles(dataDirectory).StreamDirectory(name);
        var present = Directory.Exists(directory) ? Directory.GetFiles(directory) : [];
        var listed = PublishedStream.ListedSegmentNames(published.Manifest);
        foreach (var path in present)
        {
            var index = listed.IndexOf(Path.GetFileName(path));
            Assert.True(index >= 0, $"{name}: local segment file {Path.GetFileName(path)} is not among the {segments.Count} published segments");
            var checksum = Streams.Actors.Storage.Segments.SegmentChecksum.Compute(await File.ReadAllBytesAsync(path));
            Assert.True(checksum == segments.Checksums[index], $"{name}: local segment file {Path.GetFileName(path)} is not the segment the manifest lists");
        }
    }
}
