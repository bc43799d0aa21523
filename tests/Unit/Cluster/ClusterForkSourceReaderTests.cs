using System.Text;
using Akka.Actor;
using Streams.Actors.Actors;
using Streams.Actors.Domain;
using Xunit;
using static Streams.Actors.Protocol.ForkMessages;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// The fork's side of a read across nodes, against a stand-in source that follows the source's
/// rules (pages of at most the page size, at least one record, a larger record in pieces).
/// </summary>
public sealed class ClusterForkSourceReaderTests : Akka.TestKit.Xunit2.TestKit
{
    private const long PageBytes = 4;
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(10);

    [Fact]
    public async Task Should_collect_pages_and_pieces_of_a_large_record_and_ask_again_while_the_source_moves()
    {
        var asked = new List<ReadForkRange>();
        var source = Sys.ActorOf(Props.Create(() => new SourceStandIn(new[] { "ab", "cdefghij", "k" }, asked, movingAnswers: 1)));
        var reader = new ClusterForkSourceReader(source, AskTimeout, RetryPause, PageBytes);

        var records = await reader.ReadAsync("source", 0, 3, maxBytes: 1 << 20, CancellationToken.None);

        Assert.Equal(["ab", "cdefghij", "k"], records.Select(record => Encoding.UTF8.GetString(record.Payload.Span)));
        Assert.Equal([0L, 1, 2], records.Select(record => record.Position));
        // Moving once, then: a page with "ab", the record at 1 in pieces of 4 bytes, then "k".
        Assert.Equal(
            ["0-3 skip 0", "0-3 skip 0", "1-3 skip 0", "1-2 skip 4", "2-3 skip 0"],
            asked.Select(read => $"{read.FromPosition}-{read.ToPosition} skip {read.SkipBytes}"));
    }

    [Fact]
    public async Task Should_stop_at_the_reads_own_byte_budget_without_asking_for_more()
    {
        var asked = new List<ReadForkRange>();
        var source = Sys.ActorOf(Props.Create(() => new SourceStandIn(new[] { "ab", "cd", "ef" }, asked, movingAnswers: 0)));
        var reader = new ClusterForkSourceReader(source, AskTimeout, RetryPause, PageBytes);

        var records = await reader.ReadAsync("source", 0, 3, maxBytes: 3, CancellationToken.None);

        Assert.Equal(["ab"], records.Select(record => Encoding.UTF8.GetString(record.Payload.Span)));
        Assert.Single(asked);
    }

    [Fact]
    public async Task Should_fail_the_read_when_the_source_refuses()
    {
        var source = Sys.ActorOf(Props.Create(() => new RefusingSource()));
        var reader = new ClusterForkSourceReader(source, AskTimeout, RetryPause, PageBytes);

        var error = await Assert.ThrowsAsync<ForkSourceUnavailableException>(() => reader.ReadAsync("source", 0, 1, 100, CancellationToken.None));

        Assert.Contains("gone", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Answers as a source's owner does (see StreamActor.ServeForkRange), after some "moving" answers.</summary>
    private sealed class SourceStandIn : ReceiveActor
    {
        public SourceStandIn(string[] payloads, List<ReadForkRange> asked, int movingAnswers)
        {
            var records = payloads.Select(Encoding.UTF8.GetBytes).ToArray();
            var moving = movingAnswers;
            Receive<ReadForkRange>(read =>
            {
                lock (asked)
                {
                    asked.Add(read);
                }

                if (moving-- > 0)
                {
                    Sender.Tell(new StreamRejected(ErrorCode.StreamMoving, "moving"));
                    return;
                }

                var first = records[read.FromPosition];
                if (read.SkipBytes > 0 || first.Length > PageBytes)
                {
                    var length = (int)Math.Min(PageBytes, first.Length - read.SkipBytes);
                    Sender.Tell(new ForkRangeRead(new[] { first.AsSpan((int)read.SkipBytes, length).ToArray() }, first.Length));
                    return;
                }

                var budget = Math.Min(read.MaxBytes, PageBytes);
                var answer = new List<byte[]>();
                long bytes = 0;
                for (var position = read.FromPosition; position < read.ToPosition; position++)
                {
                    if (answer.Count > 0 && bytes + records[position].Length > budget)
                    {
                        break;
                    }

                    answer.Add(records[position]);
                    bytes += records[position].Length;
                }

                Sender.Tell(new ForkRangeRead(answer, 0));
            });
        }
    }

    private sealed class RefusingSource : ReceiveActor
    {
        public RefusingSource() =>
            Receive<ReadForkRange>(_ => Sender.Tell(new StreamRejected(ErrorCode.StreamNotFound, "the source is gone")));
    }
}
