using System.Text;
using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

/// <summary>
/// What every <see cref="IObjectStore"/> must do, run once per store by the concrete
/// subclasses. Each test gets a store of its own (a fresh directory, or a fresh key prefix).
/// </summary>
public abstract class ObjectStoreContractTests : IAsyncLifetime
{
    private const int MebiByte = 1024 * 1024;
    private const int LargeObjectBytes = 5 * MebiByte;
    private const int ConcurrentPuts = 24;
    private const int ConcurrentSwaps = 8;
    private static readonly TimeSpan TestTimeout = TimeSpan.FromMinutes(2);

    private readonly CancellationTokenSource _timeout = new(TestTimeout);
    private IObjectStore? _store;

    protected IObjectStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    protected CancellationToken Timeout => _timeout.Token;

    /// <summary>A new, empty store for one test.</summary>
    protected abstract Task<IObjectStore> CreateStoreAsync();

    /// <summary>A second instance on the same storage as the store <see cref="CreateStoreAsync"/> returned.</summary>
    protected abstract IObjectStore OpenAnotherInstance();

    /// <summary>Removes what the test left behind.</summary>
    protected abstract Task DeleteStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        try
        {
            await DeleteStoreAsync();
        }
        finally
        {
            (_store as IDisposable)?.Dispose();
            _timeout.Dispose();
        }
    }

    [ContractFact]
    public async Task Should_return_the_same_bytes_when_an_object_is_put_and_read_back()
    {
        var content = Encoding.UTF8.GetBytes("{\"generation\":1}");

        await Store.PutAsync("streams/abc/manifest.json", content, Timeout);

        Assert.Equal(content, await Store.GetAsync("streams/abc/manifest.json", Timeout));
        Assert.Equal(new ObjectInfo("streams/abc/manifest.json", content.Length), await Store.HeadAsync("streams/abc/manifest.json", Timeout));
    }

    [ContractFact]
    public async Task Should_store_an_empty_object_when_the_content_is_empty()
    {
        await Store.PutAsync("empty", ReadOnlyMemory<byte>.Empty, Timeout);

        Assert.Equal(Array.Empty<byte>(), await Store.GetAsync("empty", Timeout));
        Assert.Equal(new ObjectInfo("empty", 0), await Store.HeadAsync("empty", Timeout));
    }

    [ContractFact]
    public async Task Should_return_every_byte_when_the_object_is_five_mebibytes()
    {
        var content = new byte[LargeObjectBytes];
        new Random(42).NextBytes(content);

        await Store.PutAsync("segments/0000000000000000.seg", content, Timeout);

        var read = await Store.GetAsync("segments/0000000000000000.seg", Timeout);
        Assert.NotNull(read);
        Assert.Equal(content.Length, read.Length);
        Assert.True(content.AsSpan().SequenceEqual(read), "the 5 MiB object came back with different bytes");
    }

    [ContractFact]
    public async Task Should_write_only_the_given_slice_when_the_content_is_part_of_a_larger_array()
    {
        var buffer = Encoding.ASCII.GetBytes("xxpayloadyy");

        await Store.PutAsync("slice", buffer.AsMemory(2, 7), Timeout);

        Assert.Equal("payload"u8.ToArray(), await Store.GetAsync("slice", Timeout));
    }

    [ContractFact]
    public async Task Should_return_null_when_getting_a_key_that_does_not_exist()
    {
        Assert.Null(await Store.GetAsync("streams/missing/manifest.json", Timeout));
    }

    [ContractFact]
    public async Task Should_return_null_when_heading_a_key_that_does_not_exist()
    {
        Assert.Null(await Store.HeadAsync("streams/missing/manifest.json", Timeout));
    }

    [ContractFact]
    public async Task Should_return_null_when_the_key_is_only_a_prefix_of_other_keys()
    {
        await Store.PutAsync("dir/child", "x"u8.ToArray(), Timeout);

        Assert.Null(await Store.GetAsync("dir", Timeout));
        Assert.Null(await Store.HeadAsync("dir", Timeout));
    }

    [ContractFact]
    public async Task Should_return_the_latest_bytes_when_a_key_is_overwritten()
    {
        await Store.PutAsync("manifest.json", "first, longer version"u8.ToArray(), Timeout);
        await Store.PutAsync("manifest.json", "second"u8.ToArray(), Timeout);

        Assert.Equal("second"u8.ToArray(), await Store.GetAsync("manifest.json", Timeout));
        Assert.Equal(new ObjectInfo("manifest.json", "second"u8.Length), await Store.HeadAsync("manifest.json", Timeout));
    }

    [ContractFact]
    public async Task Should_list_every_key_under_the_prefix_in_order_when_paging_across_several_pages()
    {
        var expected = Enumerable.Range(0, 10).Select(i => $"streams/s1/segments/{i:D16}.seg").ToList();
        // Written out of order, and with neighbours just outside the prefix on both sides.
        foreach (var key in expected.AsEnumerable().Reverse().Append("streams/s0/manifest.json").Append("streams/s2/manifest.json"))
        {
            await Store.PutAsync(key, Encoding.UTF8.GetBytes(key), Timeout);
        }

        var pages = await ListAllPagesAsync(Store, "streams/s1/", maxKeys: 3);

        Assert.Equal([3, 3, 3, 1], pages.Select(page => page.Objects.Count));
        Assert.Equal(expected, pages.SelectMany(page => page.Objects).Select(entry => entry.Key));
        Assert.All(pages.SelectMany(page => page.Objects), entry => Assert.Equal(Encoding.UTF8.GetByteCount(entry.Key), entry.Size));
    }

    [ContractFact]
    public async Task Should_end_with_a_null_token_when_the_last_page_is_exactly_full()
    {
        foreach (var key in new[] { "p/a", "p/b", "p/c", "p/d" })
        {
            await Store.PutAsync(key, "x"u8.ToArray(), Timeout);
        }

        var pages = await ListAllPagesAsync(Store, "p/", maxKeys: 2);

        Assert.Equal([2, 2], pages.Select(page => page.Objects.Count));
        Assert.Null(pages[^1].ContinuationToken);
    }

    [ContractFact]
    public async Task Should_match_a_partial_last_segment_when_the_prefix_ends_mid_name()
    {
        foreach (var key in new[] { "streams/ab12/manifest.json", "streams/ab34/manifest.json", "streams/ac56/manifest.json" })
        {
            await Store.PutAsync(key, "x"u8.ToArray(), Timeout);
        }

        var keys = await ListAllKeysAsync(Store, "streams/ab", maxKeys: 2);

        Assert.Equal(["streams/ab12/manifest.json", "streams/ab34/manifest.json"], keys);
    }

    [ContractFact]
    public async Task Should_list_everything_in_order_when_the_prefix_is_empty()
    {
        foreach (var key in new[] { "b/2", "a/1", "c" })
        {
            await Store.PutAsync(key, "x"u8.ToArray(), Timeout);
        }

        Assert.Equal(["a/1", "b/2", "c"], await ListAllKeysAsync(Store, "", maxKeys: 2));
    }

    [ContractFact]
    public async Task Should_order_keys_by_code_point_when_they_differ_in_punctuation_before_a_slash()
    {
        // '-' (0x2D) < '.' (0x2E) < '/' (0x2F) < '0' (0x30): a store keeping "a/c" in a
        // directory "a" must still list it after "a-b" and "a.b", as S3 does.
        foreach (var key in new[] { "k/a0", "k/a/c", "k/a.b", "k/a-b" })
        {
            await Store.PutAsync(key, "x"u8.ToArray(), Timeout);
        }

        Assert.Equal(["k/a-b", "k/a.b", "k/a/c", "k/a0"], await ListAllKeysAsync(Store, "k/", maxKeys: 1));
    }

    [ContractFact]
    public async Task Should_return_an_empty_final_page_when_no_key_matches_the_prefix()
    {
        await Store.PutAsync("streams/other/manifest.json", "x"u8.ToArray(), Timeout);

        var page = await Store.ListAsync("streams/none/", continuationToken: null, maxKeys: 3, Timeout);

        Assert.Empty(page.Objects);
        Assert.Null(page.ContinuationToken);
    }

    [ContractFact]
    public async Task Should_continue_after_the_token_when_another_store_instance_resumes_the_listing()
    {
        var keys = Enumerable.Range(0, 7).Select(i => $"resume/{i:D2}").ToList();
        foreach (var key in keys)
        {
            await Store.PutAsync(key, "x"u8.ToArray(), Timeout);
        }

        var first = await Store.ListAsync("resume/", continuationToken: null, maxKeys: 3, Timeout);
        var other = OpenAnotherInstance();
        try
        {
            var rest = await ListAllKeysAsync(other, "resume/", maxKeys: 3, first.ContinuationToken);

            Assert.Equal(keys, first.Objects.Select(entry => entry.Key).Concat(rest));
        }
        finally
        {
            (other as IDisposable)?.Dispose();
        }
    }

    [ContractFact]
    public async Task Should_remove_the_object_from_get_head_and_list_when_it_is_deleted()
    {
        await Store.PutAsync("del/a", "x"u8.ToArray(), Timeout);
        await Store.PutAsync("del/b", "y"u8.ToArray(), Timeout);

        await Store.DeleteAsync("del/a", Timeout);

        Assert.Null(await Store.GetAsync("del/a", Timeout));
        Assert.Null(await Store.HeadAsync("del/a", Timeout));
        Assert.Equal(["del/b"], await ListAllKeysAsync(Store, "del/", maxKeys: 3));
    }

    [ContractFact]
    public async Task Should_succeed_when_deleting_a_key_that_does_not_exist()
    {
        await Store.DeleteAsync("never/written", Timeout);
        await Store.DeleteAsync("never-written-either", Timeout);

        Assert.Null(await Store.HeadAsync("never/written", Timeout));
    }

    [ContractFact]
    public async Task Should_round_trip_layout_keys_when_the_stream_name_is_unicode()
    {
        const string streamName = "заказы/ström-データ-🚀";
        var manifestKey = ObjectStoreKeys.ManifestKey(streamName);
        var segmentKey = ObjectStoreKeys.SegmentKey(streamName, 12);

        await Store.PutAsync(manifestKey, "m"u8.ToArray(), Timeout);
        await Store.PutAsync(segmentKey, "s"u8.ToArray(), Timeout);

        Assert.Equal("m"u8.ToArray(), await Store.GetAsync(manifestKey, Timeout));
        Assert.Equal([manifestKey, segmentKey], await ListAllKeysAsync(Store, ObjectStoreKeys.StreamDirectory(streamName), maxKeys: 2));
    }

    [ContractFact]
    public async Task Should_round_trip_keys_when_they_contain_unicode_and_special_characters()
    {
        string[] keys = ["raw/ключ/データ.json", "raw/space and+plus=eq&amp%", "raw/ström🚀"];
        foreach (var key in keys)
        {
            await Store.PutAsync(key, Encoding.UTF8.GetBytes(key), Timeout);
        }

        foreach (var key in keys)
        {
            Assert.Equal(Encoding.UTF8.GetBytes(key), await Store.GetAsync(key, Timeout));
        }

        Assert.Equal(keys.Order(ObjectKeyRules.KeyOrder), await ListAllKeysAsync(Store, "raw/", maxKeys: 2));
    }

    [ContractFact]
    public async Task Should_keep_every_object_when_different_keys_are_put_concurrently()
    {
        var keys = Enumerable.Range(0, ConcurrentPuts).Select(i => $"concurrent/{i:D3}/manifest.json").ToList();

        await Task.WhenAll(keys.Select(key => Store.PutAsync(key, Encoding.UTF8.GetBytes(key), Timeout)));

        Assert.Equal(keys, await ListAllKeysAsync(Store, "concurrent/", maxKeys: 5));
        foreach (var key in keys)
        {
            Assert.Equal(Encoding.UTF8.GetBytes(key), await Store.GetAsync(key, Timeout));
        }
    }

    [ContractFact]
    public async Task Should_reject_the_key_when_it_could_escape_the_store()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync("streams/../../etc/passwd", "x"u8.ToArray(), Timeout));

        Assert.Contains("'..'", error.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync("/absolute", Timeout));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAsync("../", continuationToken: null, maxKeys: 1, Timeout));
    }

    [ContractFact]
    public async Task Should_create_only_once_when_putting_on_condition_that_the_key_is_absent()
    {
        var first = await Store.PutIfVersionAsync("cas/manifest.json", "first"u8.ToArray(), expectedVersion: null, Timeout);
        var second = await Store.PutIfVersionAsync("cas/manifest.json", "second"u8.ToArray(), expectedVersion: null, Timeout);

        Assert.NotNull(first);
        Assert.Null(second);
        var read = await Store.GetVersionedAsync("cas/manifest.json", Timeout);
        Assert.NotNull(read);
        Assert.Equal("first"u8.ToArray(), read.Content);
        Assert.Equal(first, read.Version);
    }

    [ContractFact]
    public async Task Should_replace_only_the_expected_version_when_putting_on_condition_of_a_version()
    {
        var first = await Store.PutIfVersionAsync("cas/manifest.json", "first"u8.ToArray(), expectedVersion: null, Timeout);
        var second = await Store.PutIfVersionAsync("cas/manifest.json", "second"u8.ToArray(), first, Timeout);
        // A writer that still holds the first version is stale: its put must change nothing.
        var stale = await Store.PutIfVersionAsync("cas/manifest.json", "stale"u8.ToArray(), first, Timeout);

        Assert.NotNull(second);
        Assert.NotEqual(first, second);
        Assert.Null(stale);
        var read = await Store.GetVersionedAsync("cas/manifest.json", Timeout);
        Assert.Equal("second"u8.ToArray(), read!.Content);
        Assert.Equal(second, read.Version);
    }

    [ContractFact]
    public async Task Should_refuse_a_put_on_condition_of_a_version_when_the_key_is_absent()
    {
        var version = await Store.PutIfVersionAsync("cas/other.json", "x"u8.ToArray(), expectedVersion: null, Timeout);

        Assert.Null(await Store.PutIfVersionAsync("cas/manifest.json", "y"u8.ToArray(), version, Timeout));
        Assert.Null(await Store.GetVersionedAsync("cas/manifest.json", Timeout));
    }

    [ContractFact]
    public async Task Should_give_the_version_of_an_unconditionally_put_object_so_a_conditional_put_can_replace_it()
    {
        await Store.PutAsync("cas/manifest.json", "plain"u8.ToArray(), Timeout);
        var read = await Store.GetVersionedAsync("cas/manifest.json", Timeout);

        var replaced = await Store.PutIfVersionAsync("cas/manifest.json", "next"u8.ToArray(), read!.Version, Timeout);

        Assert.NotNull(replaced);
        Assert.Equal("next"u8.ToArray(), await Store.GetAsync("cas/manifest.json", Timeout));
    }

    [ContractFact]
    public async Task Should_let_exactly_one_writer_win_when_several_instances_swap_the_same_version_at_once()
    {
        var start = await Store.PutIfVersionAsync("cas/manifest.json", "start"u8.ToArray(), expectedVersion: null, Timeout);
        var others = Enumerable.Range(0, ConcurrentSwaps).Select(_ => OpenAnotherInstance()).ToList();
        try
        {
            var results = await Task.WhenAll(others.Select((store, i) => SwapOrFailAsync(store, Encoding.UTF8.GetBytes($"writer {i}"), start)));

            // Ceph RGW 16 answers some losers of such a race with a 500 rather than a 412: an error,
            // retried later like any store failure. What matters is that exactly one put took effect.
            var winners = results.Select((version, i) => (version, i)).Where(result => result.version is not null).ToList();
            var winner = Assert.Single(winners);
            var read = await Store.GetVersionedAsync("cas/manifest.json", Timeout);
            Assert.Equal(Encoding.UTF8.GetBytes($"writer {winner.i}"), read!.Content);
            Assert.Equal(winner.version, read.Version);
        }
        finally
        {
            foreach (var store in others)
            {
                (store as IDisposable)?.Dispose();
            }
        }
    }

    private async Task<string?> SwapOrFailAsync(IObjectStore store, byte[] content, string? expectedVersion)
    {
        try
        {
            return await store.PutIfVersionAsync("cas/manifest.json", content, expectedVersion, Timeout);
        }
        catch (ObjectStoreException)
        {
            return null;
        }
    }

    [ContractFact]
    public async Task Should_return_null_when_getting_the_version_of_a_key_that_does_not_exist() =>
        Assert.Null(await Store.GetVersionedAsync("cas/missing.json", Timeout));

    protected async Task<List<ObjectListPage>> ListAllPagesAsync(IObjectStore store, string prefix, int maxKeys, string? startAfter = null)
    {
        var pages = new List<ObjectListPage>();
        var token = startAfter;
        do
        {
            var page = await store.ListAsync(prefix, token, maxKeys, Timeout);
            Assert.True(page.Objects.Count <= maxKeys, $"a page held {page.Objects.Count} keys, more than maxKeys {maxKeys}");
            Assert.True(page.ContinuationToken is null || page.Objects.Count > 0, "a page with a continuation token was empty");
            pages.Add(page);
            token = page.ContinuationToken;
        }
        while (token is not null);

        return pages;
    }

    protected async Task<List<string>> ListAllKeysAsync(IObjectStore store, string prefix, int maxKeys, string? startAfter = null) =>
        (await ListAllPagesAsync(store, prefix, maxKeys, startAfter)).SelectMany(page => page.Objects).Select(entry => entry.Key).ToList();
}
