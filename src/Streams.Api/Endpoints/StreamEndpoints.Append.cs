using System.Globalization;
using System.Text.RegularExpressions;
using Streams.Actors.Config;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Streams.Actors.Telemetry;
using Streams.Api.Http;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Api.Endpoints;

internal static partial class StreamEndpoints
{
    /// <summary>Producer epochs and seqs are JSON-safe integers (at most 2^53 - 1).</summary>
    private const long MaxProducerNumber = (1L << 53) - 1;

    private static async Task AppendAsync(HttpContext context, IStreamsGateway gateway, StreamsSettings settings, string name)
    {
        var request = context.Request;
        var headers = request.Headers;
        var close = ProtocolHeaders.IsTrue(headers[ProtocolHeaders.Closed]);

        if (!TryParseProducer(request.Headers, out var producer, out var producerProblem))
        {
            await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, producerProblem);
            return;
        }

        string? streamSeq = null;
        if (headers.TryGetValue(ProtocolHeaders.Seq, out var seqValues))
        {
            streamSeq = seqValues.ToString();
            if (seqValues.Count != 1 || streamSeq.Length == 0)
            {
                await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "Stream-Seq must be one non-empty value");
                return;
            }
        }

        var body = await ReadBodyOrRejectAsync(context, settings);
        if (body is null)
        {
            return;
        }

        List<byte[]> records;
        string? contentType = null;
        if (body.Length == 0)
        {
            if (!close)
            {
                await ResultMapping.WriteAsync(context, ErrorCode.EmptyBody, "an append needs a body (or Stream-Closed: true to close)");
                return;
            }

            // A close-only request: its Content-Type, if any, is ignored.
            records = [];
        }
        else
        {
            if (string.IsNullOrWhiteSpace(request.ContentType))
            {
                await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "an append with a body needs a Content-Type");
                return;
            }

            if (!IsMediaType(request.ContentType))
            {
                await ResultMapping.WriteAsync(context, ErrorCode.InvalidHeader, "Content-Type is not a media type (type/subtype)");
                return;
            }

            contentType = request.ContentType;
            if (ContentTypes.IsJson(contentType))
            {
                switch (JsonMessages.Split(body, settings.MaxAppendMessages, out records, out var jsonProblem))
                {
                    case JsonSplit.Invalid:
                        await ResultMapping.WriteAsync(context, ErrorCode.InvalidJson, $"the body is not valid JSON: {jsonProblem}");
                        return;
                    case JsonSplit.TooManyMessages:
                        await ResultMapping.WriteAsync(context, ErrorCode.PayloadTooLarge, jsonProblem);
                        return;
                }

                if (records.Count == 0)
                {
                    await ResultMapping.WriteAsync(context, ErrorCode.EmptyJsonArray, "an empty JSON array appends nothing");
                    return;
                }
            }
            else
            {
                records = [body];
            }
        }

        var reply = await SendAsync(context, gateway, new AppendToStream(name, contentType, records, close, streamSeq, producer), settings.AskTimeout);
        StreamsMetrics.AppendAnswered(reply, body.Length);
        if (reply is not Appended appended)
        {
            await WriteUnexpectedAsync(context, reply);
            return;
        }

        var response = context.Response;
        response.Headers[ProtocolHeaders.NextOffset] = appended.NextOffset.ToString();
        if (appended.Closed)
        {
            response.Headers[ProtocolHeaders.Closed] = "true";
        }

        if (appended.Producer is { } accepted)
        {
            response.Headers[ProtocolHeaders.ProducerEpoch] = Invariant(accepted.Epoch);
            response.Headers[ProtocolHeaders.ProducerSeq] = Invariant(accepted.LastSeq);
        }

        // A producer's newly accepted data is 200; duplicates, close-only requests and plain appends are 204.
        response.StatusCode = appended.Producer is not null && !appended.Duplicate && records.Count > 0
            ? StatusCodes.Status200OK
            : StatusCodes.Status204NoContent;
    }

    [GeneratedRegex("^[0-9]{1,16}$", RegexOptions.CultureInvariant)]
    private static partial Regex ProducerNumberPattern();

    /// <summary>All three producer headers or none; an id that is not empty; integers only.</summary>
    internal static bool TryParseProducer(IHeaderDictionary headers, out ProducerClaim? producer, out string problem)
    {
        producer = null;
        problem = string.Empty;
        var hasId = headers.TryGetValue(ProtocolHeaders.ProducerId, out var idValues);
        var hasEpoch = headers.TryGetValue(ProtocolHeaders.ProducerEpoch, out var epochValues);
        var hasSeq = headers.TryGetValue(ProtocolHeaders.ProducerSeq, out var seqValues);
        if (!hasId && !hasEpoch && !hasSeq)
        {
            return true;
        }

        if (!(hasId && hasEpoch && hasSeq))
        {
            problem = "Producer-Id, Producer-Epoch and Producer-Seq must be sent together";
            return false;
        }

        var id = idValues.ToString();
        if (idValues.Count != 1 || string.IsNullOrWhiteSpace(id))
        {
            problem = "Producer-Id must be one non-empty value";
            return false;
        }

        if (!TryParseProducerNumber(epochValues.ToString(), out var epoch) || !TryParseProducerNumber(seqValues.ToString(), out var seq))
        {
            problem = $"Producer-Epoch and Producer-Seq must be integers from 0 to {MaxProducerNumber}";
            return false;
        }

        producer = new ProducerClaim(id, epoch, seq);
        return true;
    }

    private static bool TryParseProducerNumber(string value, out long number)
    {
        number = 0;
        return ProducerNumberPattern().IsMatch(value) &&
            long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number) &&
            number <= MaxProducerNumber;
    }
}
