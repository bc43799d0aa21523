using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Streams.Actors.Domain;
using Streams.Tests.Unit.Support;

namespace Streams.Tests.Unit.Cluster;

/// <summary>
/// One idempotent producer per stream, each appending its numbered records one after another
/// through a node picked at random for every request, the way clients behind a load balancer do.
/// A request that gets no answer or a 5xx is sent again, with the same producer headers, to
/// another node, so it is applied exactly once. A 409 <c>producer_seq_gap</c> means the stream
/// lost a tail with the node that owned it: the producer sends again from the sequence number the
/// stream expects, as a client that keeps its unacknowledged records would. Any other answer
/// fails the producer's task, and with it the test.
/// </summary>
internal sealed class ClusterProducerLoad : IAsyncDisposable
{
    private const long ProducerEpoch = 0;
    private static readonly TimeSpan PauseBetweenAppends = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan PauseBeforeRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(120);

    private readonly StreamsCluster cluster;
    private readonly CancellationTokenSource stopping = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly StreamProducer[] producers;
    private readonly Task[] running;
    private readonly ConcurrentQueue<string> serverErrors = new();
    private int unanswered;

    public ClusterProducerLoad(StreamsCluster cluster, IReadOnlyList<string> streams)
    {
        this.cluster = cluster;
        producers = streams.Select((stream, index) => new StreamProducer(stream, $"producer-{index}")).ToArray();
        running = producers.Select(producer => Task.Run(() => ProduceAsync(producer))).ToArray();
    }

    public IReadOnlyList<StreamProducer> Producers => producers;

    /// <summary>Time since the load started, the clock of <see cref="StreamProducer.AcknowledgedAt"/>.</summary>
    public TimeSpan Now => clock.Elapsed;

    /// <summary>Every 5xx answer: status, node, stream and body.</summary>
    public IReadOnlyCollection<string> ServerErrors => serverErrors;

    /// <summary>Requests that got no answer at all (a node that stopped listening or died).</summary>
    public int Unanswered => unanswered;

    /// <summary>The bytes of record <paramref name="seq"/> of <paramref name="stream"/>: distinct per stream and position.</summary>
    public static byte[] Record(string stream, long seq) =>
        Encoding.UTF8.GetBytes($"{stream}#{seq.ToString("D7", CultureInfo.InvariantCulture)};");

    /// <summary>The bytes of records <c>[0, count)</c> of <paramref name="stream"/>, in order.</summary>
    public static byte[] Records(string stream, long count)
    {
        using var bytes = new MemoryStream();
        for (var seq = 0L; seq < count; seq++)
        {
            bytes.Write(Record(stream, seq));
        }

        return bytes.ToArray();
    }

    /// <summary>Awaits until every producer has <paramref name="acknowledged"/> more records than it had at the call.</summary>
    public async Task WaitForProgressAsync(int acknowledged, TimeSpan timeout)
    {
        var targets = producers.Select(producer => producer.Acknowledged + acknowledged).ToArray();
        var reached = await Eventually.TrueAsync(
            () => Task.FromResult(producers.Select((producer, index) => producer.Acknowledged >= targets[index]).All(done => done) || running.Any(task => task.IsFaulted)),
            timeout);
        if (running.FirstOrDefault(task => task.IsFaulted) is { } failed)
        {
            await failed;
        }

        if (!reached)
        {
            var behind = producers.Where((producer, index) => producer.Acknowledged < targets[index]).Select(producer => $"{producer.Stream}: {producer.Acknowledged}");
            throw new TimeoutException($"producers did not acknowledge {acknowledged} more records within {timeout}: {string.Join(", ", behind)}\n{cluster.RecentOutput()}");
        }
    }

    /// <summary>Lets every producer finish (acknowledge) the record it is sending, then stops them.</summary>
    public async Task StopAsync()
    {
        await stopping.CancelAsync();
        var all = Task.WhenAll(running);
        if (await Task.WhenAny(all, Task.Delay(StopDeadline)) != all)
        {
            var stuck = producers.Where((_, index) => !running[index].IsCompleted).Select(producer => $"{producer.Stream} at seq {producer.Acknowledged}");
            throw new TimeoutException($"producers could not get their last record acknowledged within {StopDeadline}: {string.Join(", ", stuck)}\n{cluster.RecentOutput()}");
        }

        await all;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(StopDeadline));
        stopping.Dispose();
    }

    private async Task ProduceAsync(StreamProducer producer)
    {
        var seq = 0L;
        while (!stopping.IsCancellationRequested)
        {
            // Once begun, a record is sent until it is acknowledged, even while stopping: a producer
            // whose last request went unanswered does not know whether it was applied.
            while (!await TryAppendAsync(producer, seq))
            {
                await Task.Delay(PauseBeforeRetry);
                seq = producer.Acknowledged;
            }

            seq = producer.Acknowledged;
            await Task.Delay(PauseBetweenAppends);
        }
    }

    /// <summary>One attempt at record <paramref name="seq"/>; true once the producer has moved on.</summary>
    private async Task<bool> TryAppendAsync(StreamProducer producer, long seq)
    {
        var nodes = cluster.Running;
        if (nodes.Count == 0)
        {
            return false;
        }

        var node = nodes[Random.Shared.Next(nodes.Count)];
        HttpResponseMessage response;
        try
        {
            response = await node.Client.AppendAsProducerAsync(producer.Stream, Record(producer.Stream, seq), producer.Id, ProducerEpoch, seq, CancellationToken.None);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref unanswered);
            return false;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                var next = Offset.TryParse(response.Headers.GetValues("Stream-Next-Offset").Single(), out var offset)
                    ? offset
                    : throw new InvalidOperationException($"{producer.Stream}: unparsable Stream-Next-Offset");
                producer.Acknowledge(seq, next, clock.Elapsed);
                return true;
            }

            var body = await response.Content.ReadAsStringAsync();
            if (status >= 500)
            {
                serverErrors.Enqueue($"{status} from {node} for {producer.Stream} seq {seq}: {body}");
                return false;
            }

            if (response.StatusCode == HttpStatusCode.Conflict
                && response.Headers.TryGetValues("Producer-Expected-Seq", out var expectedValues)
                && long.TryParse(expectedValues.Single(), CultureInfo.InvariantCulture, out var expected)
                && expected < seq)
            {
                producer.RewindTo(expected, clock.Elapsed);
                return false;
            }

            throw new InvalidOperationException($"{status} from {node} for {producer.Stream} seq {seq}: {body}");
        }
    }
}

/// <summary>What one producer has had acknowledged, updated by its own task only.</summary>
internal sealed class StreamProducer(string stream, string id)
{
    private readonly object gate = new();
    private readonly List<(long Seq, Offset Next, TimeSpan At)> acknowledgements = [];
    private readonly List<(long From, long To, TimeSpan At)> rewinds = [];

    public string Stream { get; } = stream;

    public string Id { get; } = id;

    /// <summary>How many records (<c>[0, n)</c>) the stream acknowledged as its current history.</summary>
    public long Acknowledged
    {
        get
        {
            lock (gate)
            {
                return acknowledgements.Count == 0 ? 0 : acknowledgements[^1].Seq + 1;
            }
        }
    }

    /// <summary>The offset after the last acknowledged record; null before the first.</summary>
    public Offset? LastOffset
    {
        get
        {
            lock (gate)
            {
                return acknowledgements.Count == 0 ? null : acknowledgements[^1].Next;
            }
        }
    }

    /// <summary>Times of the acknowledgements, on the load's clock.</summary>
    public IReadOnlyList<TimeSpan> AcknowledgedAt
    {
        get
        {
            lock (gate)
            {
                return acknowledgements.Select(entry => entry.At).ToList();
            }
        }
    }

    /// <summary>Lost tails the stream told the producer about: from how many records back to how many.</summary>
    public IReadOnlyList<(long From, long To, TimeSpan At)> Rewinds
    {
        get
        {
            lock (gate)
            {
                return rewinds.ToList();
            }
        }
    }

    public void Acknowledge(long seq, Offset next, TimeSpan at)
    {
        lock (gate)
        {
            acknowledgements.Add((seq, next, at));
        }
    }

    /// <summary>The stream expects <paramref name="expected"/> next: records from there on are to be sent again.</summary>
    public void RewindTo(long expected, TimeSpan at)
    {
        lock (gate)
        {
            rewinds.Add((Acknowledged, expected, at));
            acknowledgements.RemoveAll(entry => entry.Seq >= expected);
        }
    }
}
