using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Streams.Actors.Domain;
using Streams.Actors.Hosting;
using Xunit;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Tests.Unit.Support;

/// <summary>
/// The engine (actors, WAL writer, segmenter, uploader, drain) in a generic host inside the test
/// process, driven through the same gateway the HTTP front door uses.
/// </summary>
internal sealed class EngineHost : IAsyncDisposable
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private readonly IHost host;
    private bool stopped;

    private EngineHost(IHost host)
    {
        this.host = host;
        Gateway = host.Services.GetRequiredService<IStreamsGateway>();
    }

    public IStreamsGateway Gateway { get; }

    public IServiceProvider Services => host.Services;

    public static async Task<EngineHost> StartAsync(StreamsEngineOptions options)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddStreams(options);
        var host = builder.Build();
        await host.StartAsync();
        return new EngineHost(host);
    }

    public async Task CreateAsync(string name)
    {
        var reply = await Gateway.SendAsync(
            new CreateStream(name, ContentTypes.Default, TtlSeconds: null, ExpiresAt: null, Closed: false, InitialRecords: []),
            AskTimeout,
            CancellationToken.None);
        Assert.IsType<StreamCreated>(reply);
    }

    /// <summary>Appends and returns the reply: <see cref="Appended"/> once the records are durable, else a rejection.</summary>
    public Task<object> AppendAsync(string name, IReadOnlyList<byte[]> records) =>
        Gateway.SendAsync(
            new AppendToStream(name, ContentTypes.Default, records, Close: false, StreamSeq: null, Producer: null),
            AskTimeout,
            CancellationToken.None);

    /// <summary>Every record of the stream, page by page; throws on a rejected read.</summary>
    public async Task<List<byte[]>> ReadAllAsync(string name)
    {
        var records = new List<byte[]>();
        var start = ReadStart.Beginning;
        while (true)
        {
            var reply = await Gateway.SendAsync(new ReadStream(name, start, WaitFor: null, MaxBytes: 1 << 20), AskTimeout, CancellationToken.None);
            if (reply is not ReadCompleted read)
            {
                throw new InvalidOperationException($"read of {name} from {start} answered {reply}");
            }

            records.AddRange(read.Records.Select(record => record.ToArray()));
            if (read.UpToDate)
            {
                return records;
            }

            start = ReadStart.At(read.Next);
        }
    }

    public async Task<StreamDetailsReported> DetailsAsync(string name)
    {
        var reply = await Gateway.SendAsync(new GetStreamDetails(name), AskTimeout, CancellationToken.None);
        return Assert.IsType<StreamDetailsReported>(reply);
    }

    /// <summary>Stops the host: the drain runs (seal, upload, publish) before the actors stop.</summary>
    public async Task StopAsync()
    {
        if (!stopped)
        {
            stopped = true;
            await host.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        host.Dispose();
    }
}
