using System.Security.Cryptography;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Xunit;
using static Streams.Tests.Unit.Storage.Segments.SegmentTestData;

namespace Streams.Tests.Unit.Storage.Segments;

public sealed class SegmentFileWriteTests
{
    private const string FileName = "0000000000000001.seg";

    [Fact]
    public void Should_leave_no_temp_file_and_decode_when_a_segment_is_written_to_disk()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, FileName);
        var records = Records(firstPosition: 10, count: 100, payloadLength: i => i);

        var written = new SegmentWriter().WriteFile(path, records);

        Assert.Equal([FileName], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
        var bytes = File.ReadAllBytes(path);
        AssertRecordsEqual(records, new SegmentReader(bytes, path).ReadAll());
        Assert.Equal(path, written.Path);
        Assert.Equal(10, written.FirstPosition);
        Assert.Equal(109, written.LastPosition);
        Assert.Equal(100, written.RecordCount);
        Assert.Equal(bytes.LongLength, written.SizeBytes);
    }

    [Fact]
    public void Should_report_the_sha256_of_the_file_when_a_segment_is_written_to_disk()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, FileName);

        var written = new SegmentWriter().WriteFile(path, Records(firstPosition: 0, count: 5, payloadLength: 20));

        var expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Equal(expected, written.Checksum);
        Assert.Equal(expected, SegmentChecksum.Compute(File.ReadAllBytes(path)));
    }

    [Fact]
    public void Should_replace_the_file_when_the_same_path_is_written_again()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, FileName);
        File.WriteAllText(path, "left over from an interrupted attempt");
        var records = Records(firstPosition: 0, count: 3, payloadLength: 7);

        new SegmentWriter().WriteFile(path, records);

        Assert.Single(Directory.GetFiles(directory.Path));
        AssertRecordsEqual(records, new SegmentReader(File.ReadAllBytes(path)).ReadAll());
    }

    [Fact]
    public void Should_leave_no_file_when_encoding_is_rejected()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, FileName);
        SegmentRecord[] gap = [new(0, 0, new byte[1]), new(2, 0, new byte[1])];

        Assert.Throws<ArgumentException>(() => new SegmentWriter().WriteFile(path, gap));

        Assert.Empty(Directory.GetFileSystemEntries(directory.Path));
    }

    [Fact]
    public void Should_create_the_directory_and_leave_only_the_file_when_the_directory_does_not_exist()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "missing", FileName);

        AtomicFile.Write(path, new byte[] { 1, 2, 3 });

        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Should_recognise_its_temp_file_names_when_cleaning_up()
    {
        Assert.True(AtomicFile.IsTempFileName($".{FileName}.0123456789abcdef0123456789abcdef.tmp"));
        Assert.False(AtomicFile.IsTempFileName(FileName));
    }
}
