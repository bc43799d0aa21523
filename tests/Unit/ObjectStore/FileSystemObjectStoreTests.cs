using System.Diagnostics;
using Streams.Actors.ObjectStore;
using Streams.Actors.Storage;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

public sealed class FileSystemObjectStoreTests : IDisposable
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(1);

    private readonly TempDirectory _directory = new();
    private readonly CancellationTokenSource _timeout = new(TestTimeout);

    private string Root => Path.Combine(_directory.Path, "store");

    private CancellationToken Timeout => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        _directory.Dispose();
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("streams/../../outside")]
    [InlineData("/tmp/outside")]
    [InlineData("streams\\..\\..\\outside")]
    [InlineData("streams//x")]
    [InlineData("streams/x/")]
    [InlineData("streams/\0/x")]
    [InlineData("")]
    public async Task Should_reject_the_key_and_write_nothing_when_it_could_escape_the_root(string key)
    {
        var store = new FileSystemObjectStore(Root);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync(key, "x"u8.ToArray(), Timeout));

        Assert.StartsWith("Invalid object key", error.Message, StringComparison.Ordinal);
        Assert.Equal(["store"], Directory.EnumerateFileSystemEntries(_directory.Path).Select(Path.GetFileName));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Should_reject_the_key_when_reading_heading_or_deleting_outside_the_root()
    {
        var store = new FileSystemObjectStore(Root);

        await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync("../secret", Timeout));
        await Assert.ThrowsAsync<ArgumentException>(() => store.HeadAsync("a/../../secret", Timeout));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteAsync("../secret", Timeout));
    }

    [Fact]
    public async Task Should_store_the_object_at_the_keys_relative_path_when_it_is_put()
    {
        var store = new FileSystemObjectStore(Root);
        var key = ObjectStoreKeys.SegmentKey("orders", 7);

        await store.PutAsync(key, "segment"u8.ToArray(), Timeout);

        Assert.Equal("segment"u8.ToArray(), await File.ReadAllBytesAsync(Path.Combine(Root, key), Timeout));
    }

    [Fact]
    public async Task Should_leave_no_temp_file_behind_when_puts_succeed()
    {
        var store = new FileSystemObjectStore(Root);

        await store.PutAsync("streams/a/manifest.json", "1"u8.ToArray(), Timeout);
        await store.PutAsync("streams/a/manifest.json", "2"u8.ToArray(), Timeout);

        Assert.Empty(Directory.EnumerateFiles(Root, "*" + ObjectKeyRules.ReservedSuffix, SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Should_remove_leftover_temp_files_and_keep_objects_when_starting_up()
    {
        var store = new FileSystemObjectStore(Root);
        await store.PutAsync("streams/a/manifest.json", "kept"u8.ToArray(), Timeout);
        var nestedLeftover = Path.Combine(Root, "streams", "a", ".0123abcd" + ObjectKeyRules.ReservedSuffix);
        var rootLeftover = Path.Combine(Root, ".4567ef" + ObjectKeyRules.ReservedSuffix);
        await File.WriteAllBytesAsync(nestedLeftover, "torn"u8.ToArray(), Timeout);
        await File.WriteAllBytesAsync(rootLeftover, "torn"u8.ToArray(), Timeout);

        var removed = new FileSystemObjectStore(Root).RemoveLeftoverTempFiles();

        Assert.Equal(2, removed);
        Assert.False(File.Exists(nestedLeftover));
        Assert.False(File.Exists(rootLeftover));
        Assert.Equal("kept"u8.ToArray(), await store.GetAsync("streams/a/manifest.json", Timeout));
    }

    [Fact]
    public async Task Should_keep_temp_files_written_after_the_cutoff_when_sweeping_in_the_background()
    {
        var store = new FileSystemObjectStore(Root);
        var old = Path.Combine(Root, ".old" + ObjectKeyRules.ReservedSuffix);
        var recent = Path.Combine(Root, ".recent" + ObjectKeyRules.ReservedSuffix);
        await File.WriteAllBytesAsync(old, "torn"u8.ToArray(), Timeout);
        await File.WriteAllBytesAsync(recent, "in flight"u8.ToArray(), Timeout);
        var cutoff = DateTime.UtcNow - TimeSpan.FromMinutes(1);
        File.SetLastWriteTimeUtc(old, cutoff - TimeSpan.FromMinutes(1));

        var removed = store.RemoveLeftoverTempFiles(writtenBeforeUtc: cutoff);

        Assert.Equal(1, removed);
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(recent));
    }

    [Fact]
    public async Task Should_remove_a_recent_temp_file_whose_writer_has_exited_when_sweeping_in_the_background()
    {
        // A server restarted moments after a kill -9 finds its predecessor's temp file newer than
        // its own cutoff; only the writer's process id tells that nobody will finish it.
        var store = new FileSystemObjectStore(Root);
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await exited.WaitForExitAsync(Timeout);
        using var running = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            var crashed = Path.Combine(Root, "streams", "a", $".{exited.Id}-0123abcd" + ObjectKeyRules.ReservedSuffix);
            var ownInFlight = Path.Combine(Root, "streams", "a", $".{Environment.ProcessId}-4567ef" + ObjectKeyRules.ReservedSuffix);
            var otherInFlight = Path.Combine(Root, "streams", "a", $".{running.Id}-89ab" + ObjectKeyRules.ReservedSuffix);
            Directory.CreateDirectory(Path.GetDirectoryName(crashed)!);
            foreach (var path in new[] { crashed, ownInFlight, otherInFlight })
            {
                await File.WriteAllBytesAsync(path, "torn"u8.ToArray(), Timeout);
            }

            var removed = store.RemoveLeftoverTempFiles(writtenBeforeUtc: DateTime.UtcNow - TimeSpan.FromMinutes(1));

            Assert.Equal(1, removed);
            Assert.False(File.Exists(crashed));
            Assert.True(File.Exists(ownInFlight));
            Assert.True(File.Exists(otherInFlight));
        }
        finally
        {
            running.Kill();
        }
    }

    [Fact]
    public async Task Should_not_list_temp_files_when_an_interrupted_put_left_one()
    {
        var store = new FileSystemObjectStore(Root);
        await store.PutAsync("streams/a/manifest.json", "x"u8.ToArray(), Timeout);
        await File.WriteAllBytesAsync(Path.Combine(Root, "streams", "a", ".dead" + ObjectKeyRules.ReservedSuffix), "torn"u8.ToArray(), Timeout);

        var page = await store.ListAsync("streams/", continuationToken: null, maxKeys: 10, Timeout);

        Assert.Equal(["streams/a/manifest.json"], page.Objects.Select(entry => entry.Key));
    }

    [Fact]
    public async Task Should_not_follow_symlinks_when_listing()
    {
        var outside = Path.Combine(_directory.Path, "outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllBytesAsync(Path.Combine(outside, "secret"), "s"u8.ToArray(), Timeout);
        var store = new FileSystemObjectStore(Root);
        await store.PutAsync("streams/a/manifest.json", "x"u8.ToArray(), Timeout);
        Directory.CreateSymbolicLink(Path.Combine(Root, "streams", "link"), outside);

        var page = await store.ListAsync("", continuationToken: null, maxKeys: 10, Timeout);

        Assert.Equal(["streams/a/manifest.json"], page.Objects.Select(entry => entry.Key));
    }

    [Fact]
    public async Task Should_explain_the_collision_when_a_key_names_an_existing_directory()
    {
        var store = new FileSystemObjectStore(Root);
        await store.PutAsync("a/b", "x"u8.ToArray(), Timeout);

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("a", "y"u8.ToArray(), Timeout));

        Assert.Contains("a directory of that name exists", error.Message, StringComparison.Ordinal);
        Assert.Equal("x"u8.ToArray(), await store.GetAsync("a/b", Timeout));
    }

    [Fact]
    public async Task Should_create_the_root_directory_when_it_does_not_exist()
    {
        var root = Path.Combine(_directory.Path, "deep", "er", "root");

        var store = new FileSystemObjectStore(root);
        await store.PutAsync("k", "v"u8.ToArray(), Timeout);

        Assert.Equal(Path.GetFullPath(root), store.RootDirectory);
        Assert.True(File.Exists(Path.Combine(root, "k")));
    }

    [Fact]
    public async Task Should_accept_keys_when_the_root_is_given_with_a_trailing_separator()
    {
        var store = new FileSystemObjectStore(Root + Path.DirectorySeparatorChar);

        await store.PutAsync("k", "v"u8.ToArray(), Timeout);

        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k", Timeout));
        Assert.Equal(Path.GetFullPath(Root), store.RootDirectory);
    }

    [Fact]
    public void Should_flush_an_existing_directory_and_fail_clearly_for_a_missing_one()
    {
        AtomicFile.FlushDirectory(_directory.Path);

        var error = Assert.Throws<IOException>(() => AtomicFile.FlushDirectory(Path.Combine(_directory.Path, "missing")));
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }
}
