using Streams.Actors.Storage;
using Xunit;

namespace Streams.Tests.Unit.Forks;

public sealed class StreamLineageTests
{
    [Fact]
    public void Should_leave_out_ancestors_whose_own_records_start_above_what_the_child_inherits()
    {
        // fork (own from 3) ← middle (own from 5: nothing of it is below 3) ← root.
        var lineage = StreamLineage.FromChain([new(3, "fork", 3), new(2, "middle", 5), new(1, "root", 0)]);

        Assert.Equal(["fork", "root"], lineage.Entries.Select(entry => entry.Name));
        Assert.Equal(("root", 3L), Describe(lineage.Serving(2)));
        Assert.Equal(("fork", long.MaxValue), Describe(lineage.Serving(3)));
    }

    [Fact]
    public void Should_stop_at_a_fork_made_at_position_zero()
    {
        var lineage = StreamLineage.ForkOf([new(1, "root", 0)], forkStreamId: 2, "fork", forkPosition: 0);

        Assert.Equal(["fork"], lineage.Entries.Select(entry => entry.Name));
    }

    [Fact]
    public async Task Should_read_each_range_from_the_stream_that_owns_it()
    {
        var reader = new ListReader();
        reader.Add(1, 0, "a", "b", "c", "d");
        reader.Add(2, 2, "B", "C", "D");
        reader.Add(3, 3, "x", "y");
        var lineage = StreamLineage.ForkOf(
            StreamLineage.ForkOf([new(1, "root", 0)], 2, "middle", 2).Entries,
            3,
            "fork",
            3);

        var records = await lineage.ReadAsync(reader, 0, 5, long.MaxValue, CancellationToken.None);

        Assert.Equal(["a", "b", "B", "x", "y"], records.Select(record => Text(record)));
        Assert.Equal([0L, 1, 2, 3, 4], records.Select(record => record.Position));
        Assert.Equal(["root 0-2", "middle 2-3", "fork 3-5"], reader.Calls);
    }

    [Fact]
    public async Task Should_stop_crossing_owners_once_the_byte_budget_is_spent()
    {
        var reader = new ListReader();
        reader.Add(1, 0, "aa", "bb");
        reader.Add(2, 2, "cc");
        var lineage = StreamLineage.ForkOf([new(1, "root", 0)], 2, "fork", 2);

        var records = await lineage.ReadAsync(reader, 0, 3, maxBytes: 4, CancellationToken.None);

        Assert.Equal(["aa", "bb"], records.Select(record => Text(record)));
        Assert.Equal(["root 0-2"], reader.Calls);
    }

    [Fact]
    public async Task Should_read_a_cluster_forks_inherited_range_from_its_source_by_name_and_its_own_locally()
    {
        var local = new ListReader();
        local.Add(7, 2, "x", "y");
        var remote = new RemoteSource(["a", "b"]);
        var lineage = StreamLineage.RemoteFork(7, "fork", 2, "source");

        var records = await lineage.ReadAsync(new ForkAwareRecordReader(local, remote), 0, 4, long.MaxValue, CancellationToken.None);

        Assert.Equal(["a", "b", "x", "y"], records.Select(record => Text(record)));
        Assert.Equal(["source 0-2"], remote.Calls);
        Assert.Equal(["fork 2-4"], local.Calls);
        Assert.True(lineage.Entries[1].IsRemote);
        Assert.Equal(LineageEntry.RemoteStreamId, lineage.Entries[1].StreamId);
    }

    [Fact]
    public async Task Should_ask_the_source_where_an_append_ends_when_the_position_is_inherited_through_the_cluster()
    {
        var remote = new RemoteSource(["a", "b", "c"]) { AppendEnd = 3 };
        var reader = new ForkAwareRecordReader(new ListReader(), remote);

        var end = await ForkPrefix.AppendEndAsync(reader, database: null!, LineageEntry.Remote("source", 0), 1, CancellationToken.None);

        Assert.Equal(3, end);
    }

    private static (string, long) Describe((LineageEntry Entry, long End) serving) => (serving.Entry.Name, serving.End);

    private static string Text(StoredRecord record) => System.Text.Encoding.UTF8.GetString(record.Payload.Span);

    /// <summary>A cluster fork's source in memory: records from position 0, one append end for every position.</summary>
    private sealed class RemoteSource(string[] payloads) : IForkSourceReader
    {
        public List<string> Calls { get; } = [];

        public long AppendEnd { get; init; }

        public Task<List<StoredRecord>> ReadAsync(string sourceName, long fromPosition, long toPosition, long maxBytes, CancellationToken cancellationToken)
        {
            Calls.Add($"{sourceName} {fromPosition}-{toPosition}");
            var records = new List<StoredRecord>();
            for (var position = fromPosition; position < toPosition; position++)
            {
                records.Add(new StoredRecord(position, 0, System.Text.Encoding.UTF8.GetBytes(payloads[position])));
            }

            return Task.FromResult(records);
        }

        public Task<long> AppendEndAsync(string sourceName, long position, CancellationToken cancellationToken) => Task.FromResult(AppendEnd);
    }

    /// <summary>Each stream's records in memory, read with the same budget rule as the real reader.</summary>
    private sealed class ListReader : IRecordReader
    {
        private readonly Dictionary<long, (long First, List<byte[]> Payloads)> streams = [];

        public List<string> Calls { get; } = [];

        public void Add(long streamId, long firstPosition, params string[] payloads) =>
            streams[streamId] = (firstPosition, [.. payloads.Select(System.Text.Encoding.UTF8.GetBytes)]);

        public Task<List<StoredRecord>> ReadAsync(
            long streamId,
            string streamName,
            long fromPosition,
            long toPosition,
            long maxBytes,
            CancellationToken cancellationToken)
        {
            Calls.Add($"{streamName} {fromPosition}-{toPosition}");
            var (first, payloads) = streams[streamId];
            var records = new List<StoredRecord>();
            long bytes = 0;
            for (var position = fromPosition; position < toPosition; position++)
            {
                var payload = payloads[(int)(position - first)];
                if (records.Count > 0 && bytes + payload.Length > maxBytes)
                {
                    break;
                }

                records.Add(new StoredRecord(position, 0, payload));
                bytes += payload.Length;
            }

            return Task.FromResult(records);
        }
    }
}
