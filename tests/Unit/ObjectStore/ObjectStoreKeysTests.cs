using Streams.Actors.ObjectStore;
using Xunit;

namespace Streams.Tests.Unit.ObjectStore;

public sealed class ObjectStoreKeysTests
{
    // Expected hashes computed independently: hex(sha256(utf8(name)))[:32].
    private const string MyStreamHash = "efdcb60a0ea7293ec70ffb0627a3deaa";
    private const string UnicodeStreamName = "заказы/ström-データ-🚀";
    private const string UnicodeStreamHash = "a09b65e2670094e3085cbaf4dd7a72ca";

    [Fact]
    public void Should_hash_the_utf8_name_to_32_lowercase_hex_characters_when_computing_the_stream_hash()
    {
        Assert.Equal(MyStreamHash, ObjectStoreKeys.StreamHash("my-stream"));
        Assert.Equal(UnicodeStreamHash, ObjectStoreKeys.StreamHash(UnicodeStreamName));
    }

    [Fact]
    public void Should_place_the_manifest_under_the_stream_directory_when_building_its_key()
    {
        Assert.Equal($"streams/{MyStreamHash}/", ObjectStoreKeys.StreamDirectory("my-stream"));
        Assert.Equal($"streams/{MyStreamHash}/manifest.json", ObjectStoreKeys.ManifestKey("my-stream"));
        Assert.StartsWith(ObjectStoreKeys.StreamsPrefix, ObjectStoreKeys.ManifestKey(UnicodeStreamName), StringComparison.Ordinal);
    }

    [Fact]
    public void Should_zero_pad_the_index_to_sixteen_digits_when_building_a_segment_key()
    {
        Assert.Equal($"streams/{MyStreamHash}/segments/0000000000000042.seg", ObjectStoreKeys.SegmentKey("my-stream", 42));
        Assert.Equal($"streams/{MyStreamHash}/segments/{long.MaxValue:D16}.seg", ObjectStoreKeys.SegmentKey("my-stream", long.MaxValue));
        Assert.Equal($"streams/{MyStreamHash}/segments/", ObjectStoreKeys.SegmentsPrefix("my-stream"));
    }

    [Fact]
    public void Should_list_segments_in_numeric_order_when_keys_are_sorted()
    {
        long[] indexes = [0, 9, 10, 99, 100, 123456789];

        var keys = indexes.Select(index => ObjectStoreKeys.SegmentKey("s", index)).ToList();

        Assert.Equal(keys, keys.Order(ObjectKeyRules.KeyOrder));
    }

    [Fact]
    public void Should_reject_the_arguments_when_the_name_is_empty_or_the_index_negative()
    {
        Assert.Throws<ArgumentException>(() => ObjectStoreKeys.ManifestKey(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => ObjectStoreKeys.SegmentKey("s", -1));
    }

    [Fact]
    public void Should_produce_keys_every_store_accepts_when_the_name_has_any_characters()
    {
        ObjectKeyRules.ValidateKey(ObjectStoreKeys.ManifestKey("../../etc/passwd\0\\"));
        ObjectKeyRules.ValidateKey(ObjectStoreKeys.SegmentKey(UnicodeStreamName, 3));
    }

    [Theory]
    [InlineData($"streams/{MyStreamHash}/manifest.json", true)]
    [InlineData($"streams/{MyStreamHash}/segments/0000000000000000.seg", false)]
    [InlineData("streams/EFDCB60A0EA7293EC70FFB0627A3DEAA/manifest.json", false)]
    [InlineData("streams/abc/manifest.json", false)]
    [InlineData($"prefix/{MyStreamHash}/manifest.json", false)]
    public void Should_recognise_only_layout_manifest_keys_when_classifying_a_key(string key, bool isManifest)
    {
        Assert.Equal(isManifest, ObjectStoreKeys.IsManifestKey(key));
    }
}
