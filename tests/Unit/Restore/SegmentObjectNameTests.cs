using System.Text;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Streams.Actors.ObjectStore;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using Streams.Actors.Storage.Segments;
using Streams.Tests.Unit.ObjectStore;
using Streams.Tests.Unit.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Restore;

/// <summary>
/// Segment object names (manifest format 2): every seal picks a name of its own, recorded in the
/// local row and the manifest, and every reader — lazy hydration, eager restore, the segment cache —
/// fetches that name. Format-1 manifests, which name no object, still restore and read, and a stream
/// taken over from one keeps its old objects under their old keys.
/// </summary>
public sealed class SegmentObjectNameTests(ITestOutputHelper output) : ObjectStoreWorldTestKit(output)
{
    private const long TimestampMs = 1_750_000_000_000;

    [Fact]
    public async Task Should_read_the_records_lazily_and_eagerly_when_the_manifest_is_format_1_and_names_no_objects()
    {
        const string name = "legacy/orders";
        var records = await WriteFormat1StreamAsync(name, [3, 2]);

        var (lazyNode, lazy) = StartNode(RestoreMode.Lazy);
        AssertRecords(records, await ReadAllAsync(lazy, name));
        Assert.Equal(2, lazyNode.Segments.DownloadCount);
        Assert.True(File.Exists(Path.Combine(lazyNode.Files.StreamDirectory(name), "0000000000000001.seg")), "the cached copy keeps the format-1 name");

        var eagerNode = NewNode(RestoreMode.Eager);
        var status = new RestoreStatus();
        await new EagerBootstrapper(World.Store, eagerNode.Hydrator, status, 1, TimeSpan.FromMinutes(1), NullLogger<EagerBootstrapper>.Instance)
            .RunAsync(CancellationToken.None);
        Assert.Equal(1, status.Done);
        var eager = StartSupervisor(eagerNode);
        AssertRecords(records, await ReadAllAsync(eager, name));
    }

    [Fact]
    public async Task Should_keep_the_format_1_keys_of_old_segments_and_name_the_new_ones_when_a_node_extends_a_format_1_stream()
    {
        const string name = "legacy/extended";
        var records = await WriteFormat1StreamAsync(name, [2, 2]);
        var (writer, streams) = StartNode(RestoreMode.Lazy);
        var appended = Encoding.UTF8.GetBytes("appended after the upgrade");
        await AskAsync<Appended>(streams, new AppendToStream(name, ContentTypes.Default, [appended], false, null, null));
        await writer.PublishAsync(draining: true);

        var manifest = await World.ReadManifestAsync(name);
        Assert.Equal(StreamManifest.CurrentFormatVersion, manifest.FormatVersion);
        var names = manifest.Segments.ObjectNames!;
        Assert.Equal(3, names.Count);
        Assert.Null(names[0]);
        Assert.Null(names[1]);
        Assert.StartsWith("0000000000000004-", names[2], StringComparison.Ordinal);
        Assert.NotNull(await World.FileStore.GetAsync(ObjectStoreKeys.SegmentKey(name, names[2]!), CancellationToken.None));

        var (_, reader) = StartNode(RestoreMode.Lazy);
        AssertRecords([.. records, appended], await ReadAllAsync(reader, name));
    }

    [Fact]
    public async Task Should_put_each_segment_under_the_name_recorded_at_its_seal_when_a_stream_is_published()
    {
        const string name = "named/segments";
        var (writer, streams) = StartNode(RestoreMode.None, "streams.segment.target-rows = 2");
        var records = Enumerable.Range(0, 5).Select(i => Encoding.UTF8.GetBytes($"record {i}")).ToList();
        await AskAsync<StreamCreated>(streams, new CreateStream(name, ContentTypes.Default, null, null, false, records));
        await writer.PublishAsync(draining: false);

        var rows = writer.Queries.LoadPublishSnapshot(writer.Database.LoadStream(name)!.StreamId)!.Segments;
        Assert.Equal(3, rows.Count);
        Assert.All(rows, row => Assert.NotNull(row.ObjectName));
        Assert.All(rows, row => Assert.StartsWith($"{row.FirstPosition:D16}-", row.ObjectName, StringComparison.Ordinal));
        Assert.All(rows, row => Assert.True(File.Exists(writer.Files.PathFor(name, row)), $"no local file {row.ObjectName}"));

        var manifest = await World.ReadManifestAsync(name);
        Assert.Equal(rows.Select(row => row.ObjectName), manifest.Segments.ObjectNames!);
        var stored = await World.FileStore.ListAsync(ObjectStoreKeys.SegmentsPrefix(name), null, 100, CancellationToken.None);
        Assert.Equal(
            rows.Select(row => ObjectStoreKeys.SegmentKey(name, row.ObjectName!)).Order(StringComparer.Ordinal),
            stored.Objects.Select(entry => entry.Key).Order(StringComparer.Ordinal));

        var (_, reader) = StartNode(RestoreMode.Lazy);
        AssertRecords(records, await ReadAllAsync(reader, name));
    }

    [Fact]
    public void Should_choose_a_different_name_every_time_when_two_writers_seal_the_same_range()
    {
        var names = Enumerable.Range(0, 1_000).Select(_ => ObjectStoreKeys.NewSegmentObjectName(42)).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, objectName => Assert.Matches("^0000000000000042-[0-9a-f]{16}\\.seg$", objectName));
        Assert.All(names, objectName => Assert.True(ObjectStoreKeys.IsValidSegmentObjectName(objectName)));
    }

    [Fact]
    public void Should_round_trip_the_object_names_and_omit_them_when_every_segment_has_its_format_1_name()
    {
        var named = Manifest(["0000000000000000.seg", "0000000000000003-00112233aabbccdd.seg"]);
        var parsed = StreamManifest.Parse(named.ToJson());
        Assert.Equal([null, "0000000000000003-00112233aabbccdd.seg"], parsed.Segments.ObjectNames!);
        Assert.Equal("0000000000000000.seg", parsed.Segments.ObjectNameAt(0));
        Assert.Equal("0000000000000003-00112233aabbccdd.seg", parsed.Segments.ObjectNameAt(1));

        var legacyOnly = Manifest(["0000000000000000.seg", "0000000000000001.seg"]);
        Assert.DoesNotContain("object_names", Encoding.UTF8.GetString(legacyOnly.ToJson()), StringComparison.Ordinal);
        Assert.Equal("0000000000000001.seg", StreamManifest.Parse(legacyOnly.ToJson()).Segments.ObjectNameAt(1));
    }

    [Theory]
    [InlineData("../0000000000000000.seg")]
    [InlineData("a/b.seg")]
    [InlineData(".hidden.seg")]
    [InlineData("0000000000000000.tmp")]
    [InlineData("")]
    public void Should_reject_the_manifest_when_a_segment_object_name_is_not_a_plain_segment_file_name(string objectName)
    {
        var json = JsonNode.Parse(Manifest(["0000000000000000.seg", "0000000000000003-00112233aabbccdd.seg"]).ToJson())!;
        json["segments"]!["object_names"]![1] = objectName;

        var error = Assert.Throws<InvalidDataException>(() => StreamManifest.Parse(Encoding.UTF8.GetBytes(json.ToJsonString())));
        Assert.Contains("object name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_reject_the_manifest_when_two_entries_name_the_same_object_or_the_names_do_not_match_the_segments()
    {
        var twice = JsonNode.Parse(Manifest(["0000000000000000.seg", "0000000000000003-00112233aabbccdd.seg"]).ToJson())!;
        twice["segments"]!["object_names"]![1] = "0000000000000000.seg";
        Assert.Contains("twice", Assert.Throws<InvalidDataException>(() => Parse(twice)).Message, StringComparison.Ordinal);

        var shorter = JsonNode.Parse(Manifest(["0000000000000000.seg", "0000000000000003-00112233aabbccdd.seg"]).ToJson())!;
        shorter["segments"]!["object_names"]!.AsArray().RemoveAt(0);
        Assert.Contains("differ in length", Assert.Throws<InvalidDataException>(() => Parse(shorter)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Should_reject_the_manifest_when_its_format_version_is_unknown(int version)
    {
        var manifest = Manifest(["0000000000000000.seg", "0000000000000001.seg"]) with { FormatVersion = version };

        Assert.Contains($"format {version}", Assert.Throws<InvalidDataException>(() => StreamManifest.Parse(manifest.ToJson())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Should_add_the_new_columns_and_keep_the_rows_when_the_local_index_was_written_by_schema_1()
    {
        using var directory = new TempDirectory();
        var database = new StreamDatabase(directory.Path);
        using (var connection = new SqliteConnection(database.WriteConnectionString))
        {
            connection.Open();
            StreamDatabaseExecute(connection, """
                ALTER TABLE segments DROP COLUMN object_name;
                ALTER TABLE streams DROP COLUMN layout_version;
                ALTER TABLE streams DROP COLUMN published_layout_version;
                ALTER TABLE streams DROP COLUMN fork_parent_name;
                DROP TABLE object_deletions;
                UPDATE schema_version SET version = 1;
                INSERT INTO segments (stream_id, segment_index, first_position, record_count, byte_size, checksum, uploaded)
                VALUES (7, 0, 0, 3, 100, 'c0', 1);
                """);
        }

        SqliteConnection.ClearAllPools();
        var upgraded = new StreamDatabase(directory.Path);
        using var check = new SqliteConnection(upgraded.WriteConnectionString);
        check.Open();
        using var command = check.CreateCommand();
        command.CommandText = """
            SELECT (SELECT version FROM schema_version), segment_index, object_name,
                   (SELECT COUNT(*) FROM pragma_table_info('streams') WHERE name IN ('layout_version', 'published_layout_version', 'fork_parent_name'))
            FROM segments WHERE stream_id = 7
            """;
        using var reader = await command.ExecuteReaderAsync();
        Assert.True(reader.Read());
        Assert.Equal(Streams.Actors.Storage.Schema.Version, reader.GetInt64(0));
        Assert.Equal(0, reader.GetInt64(1));
        Assert.True(reader.IsDBNull(2));
        Assert.Equal(3, reader.GetInt64(3));
        SqliteConnection.ClearAllPools();
    }

    private static StreamManifest Parse(JsonNode json) => StreamManifest.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()));

    private static void StreamDatabaseExecute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static StreamManifest Manifest(IReadOnlyList<string> storedNames) => new()
    {
        Name = "manifest/names",
        Generation = 1,
        ContentType = ContentTypes.Default,
        NextPosition = 5,
        Epochs = [new ManifestEpoch(0, 0)],
        Segments = new ManifestSegments
        {
            RecordCounts = [3, 2],
            ByteSizes = [100, 90],
            Checksums = ["c0", "c1"],
            ObjectNames = ManifestSegments.CompactObjectNames(storedNames),
        },
    };

    /// <summary>
    /// Publishes <paramref name="name"/> as a format-1 writer did: segments under
    /// <c>&lt;index:D16&gt;.seg</c>, then a version-1 manifest without object names.
    /// </summary>
    private async Task<List<byte[]>> WriteFormat1StreamAsync(string name, IReadOnlyList<int> segmentSizes)
    {
        var records = new List<byte[]>();
        var counts = new List<long>();
        var sizes = new List<long>();
        var checksums = new List<string>();
        for (var index = 0; index < segmentSizes.Count; index++)
        {
            var segmentRecords = Enumerable.Range(records.Count, segmentSizes[index])
                .Select(position => new SegmentRecord(position, TimestampMs + position, Encoding.UTF8.GetBytes($"{name} record {position}")))
                .ToList();
            var bytes = new SegmentWriter().Encode(segmentRecords);
            await World.FileStore.PutAsync(ObjectStoreKeys.SegmentKey(name, index), bytes, CancellationToken.None);
            records.AddRange(segmentRecords.Select(record => record.Payload.ToArray()));
            counts.Add(segmentRecords.Count);
            sizes.Add(bytes.LongLength);
            checksums.Add(SegmentChecksum.Compute(bytes));
        }

        var manifest = new StreamManifest
        {
            FormatVersion = 1,
            Name = name,
            Generation = 3,
            ContentType = ContentTypes.Default,
            CreatedAtMs = TimestampMs,
            UpdatedAtMs = TimestampMs + records.Count,
            NextPosition = records.Count,
            Epochs = [new ManifestEpoch(0, 0)],
            DrainedClean = true,
            Segments = new ManifestSegments { RecordCounts = counts, ByteSizes = sizes, Checksums = checksums },
        };
        var json = manifest.ToJson();
        Assert.DoesNotContain("object_names", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        await World.WriteManifestBytesAsync(name, json);
        return records;
    }

}
