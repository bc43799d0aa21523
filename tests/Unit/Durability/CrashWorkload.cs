using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Streams.Actors.Domain;
using Xunit;

namespace Streams.Tests.Unit.Durability;

/// <summary>
/// What the writers of one stream sent and what the server acknowledged since the last check, and
/// the exact records the stream held at that check. Writers run concurrently; every member locks.
/// </summary>
internal sealed class StreamLedger(string name, bool json)
{
    private readonly object gate = new();
    private readonly Dictionary<RecordId, (byte[] Payload, string NextOffset)> acknowledged = [];
    private readonly Dictionary<RecordId, byte[]> inFlight = [];
    private readonly Dictionary<RecordId, byte[]> verified = [];
    private readonly List<string> unexpected = [];
    private List<ReadRecord> history = [];
    private int acknowledgedSinceCheck;

    public string Name => name;

    public bool IsJson => json;

    public string ContentType => json ? "application/json" : "application/octet-stream";

    public int AcknowledgedSinceCheck
    {
        get
        {
            lock (gate)
            {
                return acknowledgedSinceCheck;
            }
        }
    }

    public int VerifiedCount
    {
        get
        {
            lock (gate)
            {
                return history.Count;
            }
        }
    }

    public void Sent(RecordId id, byte[] payload)
    {
        lock (gate)
        {
            inFlight[id] = payload;
        }
    }

    public void Acknowledged(RecordId id, string nextOffset)
    {
        lock (gate)
        {
            Assert.True(inFlight.Remove(id, out var payload), $"{id} was acknowledged but never sent");
            acknowledged[id] = (payload, nextOffset);
            acknowledgedSinceCheck++;
        }
    }

    public void Unexpected(string description)
    {
        lock (gate)
        {
            unexpected.Add(description);
        }
    }

    public bool WasVerified(RecordId id, out byte[] payload)
    {
        lock (gate)
        {
            return verified.TryGetValue(id, out payload!);
        }
    }

    /// <summary>
    /// Checks a complete read of the stream: the previously verified history unchanged, then only
    /// records acknowledged or in flight since — every acknowledged one present, byte for byte, at
    /// the offset it was acknowledged with — each writer's records in the order it sent them, and
    /// nothing twice. The read becomes the new history.
    /// </summary>
    public CheckResult Check(IReadOnlyList<ReadRecord> read, long epoch)
    {
        lock (gate)
        {
            Assert.True(unexpected.Count == 0, $"{name}: unexpected answers during the run:{Environment.NewLine}{string.Join(Environment.NewLine, unexpected)}");
            Assert.True(read.Count >= history.Count, $"{name}: {read.Count} records read, but {history.Count} were verified before");
            for (var i = 0; i < history.Count; i++)
            {
                Assert.True(
                    read[i].Id == history[i].Id && read[i].Bytes.AsSpan().SequenceEqual(history[i].Bytes),
                    $"{name}: record at position {i} changed from {history[i].Id} to {read[i].Id}");
            }

            var seen = new HashSet<RecordId>();
            var lastCounterByWriter = new Dictionary<string, long>(StringComparer.Ordinal);
            var acknowledgedFound = 0;
            var inFlightSurvived = 0;
            for (var position = 0; position < read.Count; position++)
            {
                var record = read[position];
                Assert.True(seen.Add(record.Id), $"{name}: {record.Id} appears twice (again at position {position})");
                if (lastCounterByWriter.TryGetValue(record.Id.Writer, out var last))
                {
                    Assert.True(record.Id.Counter > last, $"{name}: {record.Id} at position {position} comes after counter {last} of the same writer");
                }

                lastCounterByWriter[record.Id.Writer] = record.Id.Counter;
                if (position < history.Count)
                {
                    continue;
                }

                if (acknowledged.TryGetValue(record.Id, out var ack))
                {
                    Assert.True(record.Bytes.AsSpan().SequenceEqual(ack.Payload), $"{name}: acknowledged {record.Id} at position {position} differs from what was sent");
                    var expectedOffset = new Offset(epoch, position + 1).ToString();
                    Assert.True(ack.NextOffset == expectedOffset, $"{name}: {record.Id} was acknowledged with {ack.NextOffset} but ends at {expectedOffset}");
                    acknowledgedFound++;
                }
                else if (inFlight.TryGetValue(record.Id, out var sent))
                {
                    Assert.True(record.Bytes.AsSpan().SequenceEqual(sent), $"{name}: in-flight {record.Id} at position {position} differs from what was sent");
                    inFlightSurvived++;
                }
                else
                {
                    Assert.Fail($"{name}: {record.Id} at position {position} was neither acknowledged nor in flight since the last check");
                }
            }

            var missing = acknowledged.Keys.Where(id => !seen.Contains(id)).Take(10).ToList();
            Assert.True(missing.Count == 0, $"{name}: acknowledged appends are missing after the restart: {string.Join(", ", missing)}");

            var result = new CheckResult(acknowledgedFound, inFlightSurvived, inFlight.Count - inFlightSurvived);
            history = [.. read];
            foreach (var record in read)
            {
                verified[record.Id] = record.Bytes;
            }

            acknowledged.Clear();
            // In-flight appends that did not survive are gone for good: they are not retried as
            // such, so one turning up later would be caught as unknown.
            inFlight.Clear();
            acknowledgedSinceCheck = 0;
            return result;
        }
    }
}

internal readonly record struct CheckResult(int AcknowledgedVerified, int InFlightSurvived, int InFlightLost);

/// <summary>
/// One sequential writer: plain appends, or an idempotent producer (epoch 0, seq = counter). It
/// stops at the first failed request, which leaves that append in flight (answer unknown).
/// </summary>
internal sealed class CrashWriter(StreamLedger ledger, string id, bool idempotent, int seed)
{
    private const string ProducerEpoch = "0";
    private readonly Random random = new(seed);
    private long nextCounter;
    private (RecordId Id, byte[] Payload)? pending;
    private long? lastAcceptedSeq;

    public bool IsIdempotent => idempotent;

    public StreamLedger Ledger => ledger;

    public int DuplicatesConfirmed { get; private set; }

    public int RetriesAccepted { get; private set; }

    public async Task RunAsync(HttpClient client, Uri baseAddress, Func<bool> stopRequested, CancellationToken cancellationToken)
    {
        while (!stopRequested())
        {
            var record = new RecordId(id, nextCounter++);
            var payload = CrashPayloads.Create(ledger.IsJson, record, random);
            ledger.Sent(record, payload);
            if (idempotent)
            {
                pending = (record, payload);
            }

            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(AppendRequest(baseAddress, record, payload), cancellationToken);
            }
            catch (HttpRequestException)
            {
                // The server is gone: whether this append was committed is unknown.
                return;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return;
            }

            using (response)
            {
                var expected = idempotent ? HttpStatusCode.OK : HttpStatusCode.NoContent;
                if (response.StatusCode != expected || NextOffset(response) is not { } nextOffset)
                {
                    ledger.Unexpected($"{record}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
                    return;
                }

                if (idempotent && Header(response, "Producer-Seq") != Invariant(record.Counter))
                {
                    ledger.Unexpected($"{record}: accepted with Producer-Seq {Header(response, "Producer-Seq")}");
                    return;
                }

                ledger.Acknowledged(record, nextOffset);
                if (idempotent)
                {
                    pending = null;
                    lastAcceptedSeq = record.Counter;
                }
            }
        }
    }

    /// <summary>
    /// After a restart (and a check of the stream), an idempotent producer retries with the same
    /// tuple: the append in flight at the kill must be a duplicate (204) exactly when it was found
    /// committed, and accepted (200) otherwise; an older, committed seq is always a duplicate.
    /// </summary>
    public async Task RetryAfterRestartAsync(HttpClient client, Uri baseAddress, CancellationToken cancellationToken)
    {
        if (!idempotent)
        {
            return;
        }

        byte[]? acceptedNow = null;
        if (pending is { } inFlight)
        {
            var committed = ledger.WasVerified(inFlight.Id, out _);
            if (!committed)
            {
                ledger.Sent(inFlight.Id, inFlight.Payload);
            }

            using var response = await client.SendAsync(AppendRequest(baseAddress, inFlight.Id, inFlight.Payload), cancellationToken);
            if (committed)
            {
                AssertDuplicate(response, inFlight.Id, highestSeq: inFlight.Id.Counter);
                DuplicatesConfirmed++;
            }
            else
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{inFlight.Id} was not committed, so its retry must be accepted, got {(int)response.StatusCode}");
                Assert.Equal(Invariant(inFlight.Id.Counter), Header(response, "Producer-Seq"));
                ledger.Acknowledged(inFlight.Id, NextOffset(response) ?? string.Empty);
                acceptedNow = inFlight.Payload;
                RetriesAccepted++;
            }

            lastAcceptedSeq = inFlight.Id.Counter;
            pending = null;
        }

        if (lastAcceptedSeq is not { } highest)
        {
            return;
        }

        // The first seq and the highest one: both committed, so both are duplicates now.
        foreach (var seq in new[] { 0L, highest }.Distinct())
        {
            var old = new RecordId(id, seq);
            byte[] payload;
            if (seq == highest && acceptedNow is not null)
            {
                payload = acceptedNow;
            }
            else
            {
                Assert.True(ledger.WasVerified(old, out payload), $"{old} was accepted but is not in the stream");
            }

            using var response = await client.SendAsync(AppendRequest(baseAddress, old, payload), cancellationToken);
            AssertDuplicate(response, old, highest);
            DuplicatesConfirmed++;
        }
    }

    private void AssertDuplicate(HttpResponseMessage response, RecordId retried, long highestSeq)
    {
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"{retried} is committed, so its retry must be a duplicate (204), got {(int)response.StatusCode}");
        Assert.Equal(ProducerEpoch, Header(response, "Producer-Epoch"));
        Assert.Equal(Invariant(highestSeq), Header(response, "Producer-Seq"));
    }

    private HttpRequestMessage AppendRequest(Uri baseAddress, RecordId record, byte[] payload)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, $"v1/stream/{ledger.Name}"))
        {
            Content = new ByteArrayContent(payload),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(ledger.ContentType);
        if (idempotent)
        {
            request.Headers.Add("Producer-Id", id);
            request.Headers.Add("Producer-Epoch", ProducerEpoch);
            request.Headers.Add("Producer-Seq", Invariant(record.Counter));
        }

        return request;
    }

    private static string? NextOffset(HttpResponseMessage response) => Header(response, "Stream-Next-Offset");

    private static string? Header(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) ? string.Join(",", values) : null;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
