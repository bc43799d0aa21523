using System.Runtime.InteropServices;
using Streams.Api;
using Streams.Bench.Cli;
using Streams.Bench.Cluster;
using Streams.Bench.Restore;
using Streams.Bench.Serving;
using Streams.Bench.Throughput;

namespace Streams.Bench;

/// <summary>Entry point: dispatches to a subcommand.</summary>
public static class BenchProgram
{
    private const string HelpCommand = "help";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] == HelpCommand)
        {
            Usage.Write(Console.Out);
            return args.Length == 0 ? Usage.BadArguments : 0;
        }

        var parsed = CommandLineSyntax.Parse(Usage.Root, args);
        var command = parsed.CommandResult.Command;
        if (CommandLineSyntax.HelpRequested(parsed))
        {
            if (command == Usage.Root)
            {
                Usage.Write(Console.Out);
            }
            else
            {
                CommandLineSyntax.WriteHelp(Usage.Root, Console.Out, command.Name);
            }

            return 0;
        }

        if (command == Usage.Root)
        {
            return Usage.Fail([$"unknown command '{args[0]}'"]);
        }

        // The served child is the server itself: it handles its own signals and arguments.
        if (command.Name == ServeCommand.Name)
        {
            return await ServeCommand.RunAsync(parsed);
        }

        // Ctrl-C or SIGTERM cancels the run; the finally blocks then stop every child server and remove
        // scratch data. (A background job started by a script ignores SIGINT, so SIGTERM matters too.)
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });
        var flags = new Arguments(parsed);
        try
        {
            return command.Name switch
            {
                RestoreScalingCommand.Name => await RestoreScalingCommand.RunAsync(flags, cancellation.Token),
                AppendThroughputCommand.Name => await AppendThroughputCommand.RunAsync(flags, cancellation.Token),
                ClusterCommand.Name => await ClusterCommand.RunAsync(flags, cancellation.Token),
                _ => throw new InvalidOperationException($"Usage declares {command.Name}, which nothing runs"),
            };
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("streams-bench: cancelled");
            return 130;
        }
    }
}
