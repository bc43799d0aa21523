using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Streams.Actors.ObjectStore;
using Streams.Bench.Cli;

namespace Streams.Bench.Serving;

/// <summary>
/// <c>serve [--latency-ms D] -- &lt;server flags&gt;</c>: runs the real server (its own entry point, flags,
/// endpoints and <c>/health</c>) in this process, with the object store wrapped in a
/// <see cref="CountingObjectStore"/> and, when D &gt; 0, a <see cref="LatencyInjectingObjectStore"/>. The
/// benchmark starts it as a child process so that time-to-healthy covers a real process start.
/// </summary>
/// <remarks>
/// The server exposes no flag for a store decorator, and a benchmark should not add one to the product.
/// The hosting library announces every host it builds on the "Microsoft.Extensions.Hosting" diagnostic
/// listener ("HostBuilding", the mechanism test hosts use); at that point the server's own registrations
/// are complete, so the object store registration can be wrapped without changing the server.
/// </remarks>
internal static class ServeCommand
{
    public const string Name = "serve";
    public const string Separator = "--";
    public const string LatencyFlag = "--" + LatencyName;
    private const string LatencyName = "latency-ms";
    public const string ServerFlagsArgument = "server-flags";

    // The server's hosted service that runs the eager restore (internal to the engine, so named here).
    private const string RestoreServiceTypeName = "EagerRestoreService";

    public static async Task<int> RunAsync(ParseResult parsed)
    {
        var arguments = new Arguments(parsed);
        var latency = TimeSpan.Zero;
        if (arguments.String(LatencyName) is { } latencyText)
        {
            if (!double.TryParse(latencyText, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) || milliseconds < 0)
            {
                return Usage.Fail([$"{LatencyFlag} must be a number of milliseconds of at least 0, not '{latencyText}'"]);
            }

            latency = TimeSpan.FromMilliseconds(milliseconds);
        }

        if (arguments.Problems() is { Count: > 0 } problems)
        {
            return Usage.Fail(problems);
        }

        // Everything after "--" is the server's, passed on as it came.
        var serverArgs = parsed.GetValue<string[]>(ServerFlagsArgument) ?? [];
        var calls = new ObjectStoreCalls();
        using var subscription = DiagnosticListener.AllListeners.Subscribe(
            new HostBuildingObserver(services => Decorate(services, calls, latency)));
        var entryPoint = typeof(Streams.Api.ServerOptions).Assembly.EntryPoint
            ?? throw new InvalidOperationException("the server assembly has no entry point");
        var result = entryPoint.Invoke(null, [serverArgs]);
        var exitCode = result switch
        {
            Task<int> task => await task,
            int code => code,
            _ => throw new InvalidOperationException($"unexpected entry point result {result?.GetType().Name}"),
        };
        // The stats endpoint is gone once the server has stopped; calls made by the drain are reported here.
        Console.WriteLine(FinalCallsPrefix + string.Join(' ', Enum.GetValues<ObjectStoreOperation>().Select(op => $"{op}={calls.Count(op)}")));
        return exitCode;
    }

    /// <summary>Starts the line a served node prints on exit with its object-store call counts.</summary>
    public const string FinalCallsPrefix = "streams-bench-final-calls: ";

    private static void Decorate(IServiceCollection services, ObjectStoreCalls calls, TimeSpan latency)
    {
        var original = services.LastOrDefault(descriptor => descriptor.ServiceType == typeof(IObjectStore))
            ?? throw new InvalidOperationException("the server registered no IObjectStore");
        var create = original.ImplementationFactory
            ?? throw new InvalidOperationException("the server's IObjectStore is not registered by a factory");
        services.Remove(original);
        services.AddSingleton<IObjectStore>(provider =>
        {
            // Counting outermost: a call is counted when the server issues it, before the injected delay.
            IObjectStore inner = (IObjectStore)create(provider);
            if (latency > TimeSpan.Zero)
            {
                inner = new LatencyInjectingObjectStore(inner, latency);
            }

            var counting = new CountingObjectStore(inner);
            calls.Attach(counting);
            return counting;
        });
        services.AddSingleton(calls);
        services.AddSingleton<IStartupFilter, StatsEndpoint>();
        services.AddSingleton<RestoreClock>();
        // Right after the server's restore service, so the clock starts when the restore does and not
        // after the web server, which the host starts last.
        var clock = ServiceDescriptor.Singleton<IHostedService>(provider => provider.GetRequiredService<RestoreClock>());
        var restoreService = services
            .Select((descriptor, index) => (descriptor, index))
            .FirstOrDefault(entry => entry.descriptor.ServiceType == typeof(IHostedService)
                && entry.descriptor.ImplementationType?.Name == RestoreServiceTypeName);
        if (restoreService.descriptor is null)
        {
            services.Add(clock);
        }
        else
        {
            services.Insert(restoreService.index + 1, clock);
        }
    }

    /// <summary>Subscribes to the hosting library's listener and hands each host's services to a callback.</summary>
    private sealed class HostBuildingObserver(Action<IServiceCollection> configure)
        : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
    {
        private const string HostingListenerName = "Microsoft.Extensions.Hosting";
        private const string HostBuildingEvent = "HostBuilding";
        private int configured;

        public void OnNext(DiagnosticListener listener)
        {
            if (listener.Name == HostingListenerName)
            {
                listener.Subscribe(this);
            }
        }

        public void OnNext(KeyValuePair<string, object?> value)
        {
            // One server per process: a second host would mean the server changed how it starts.
            if (value.Key == HostBuildingEvent && value.Value is IHostBuilder builder && Interlocked.Exchange(ref configured, 1) == 0)
            {
                builder.ConfigureServices((_, services) => configure(services));
            }
        }

        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }
    }
}
