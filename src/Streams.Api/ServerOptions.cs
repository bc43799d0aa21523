using System.Net;
using Microsoft.Extensions.Configuration;

namespace Streams.Api;

/// <summary>Deployment settings: bound from appsettings, environment variables and command-line flags.</summary>
public sealed class ServerOptions
{
    public const string Section = "Streams";

    private const int MaxPort = 65535;

    /// <summary>An IP address literal to listen on (127.0.0.1, ::1, 0.0.0.0, ::); names are not resolved.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 lets the operating system choose one.</summary>
    public int Port { get; set; } = 4437;

    public string DataDir { get; set; } = "./data";

    /// <summary>Overrides <c>streams.long-poll-timeout</c>; tests use a short one.</summary>
    public int? LongPollTimeoutMs { get; set; }

    /// <summary>Overrides <c>streams.max-append-bytes</c>.</summary>
    public long? MaxAppendBytes { get; set; }

    /// <summary>
    /// Binds and checks the section; null (with <paramref name="problems"/> filled in) when a value
    /// cannot be converted or is out of range, so the server refuses to start with a clear message.
    /// </summary>
    public static ServerOptions? Bind(IConfiguration section, List<string> problems)
    {
        ServerOptions options;
        try
        {
            options = section.Get<ServerOptions>() ?? new ServerOptions();
        }
        catch (InvalidOperationException exception)
        {
            // The binder names the key and the value it could not convert.
            problems.Add(exception.Message);
            return null;
        }

        problems.AddRange(options.Validate());
        return problems.Count == 0 ? options : null;
    }

    public IEnumerable<string> Validate()
    {
        if (!IPAddress.TryParse(Host, out _))
        {
            yield return $"{Section}:Host '{Host}' is not an IP address (for example 127.0.0.1, ::1 or 0.0.0.0)";
        }

        if (Port is < 0 or > MaxPort)
        {
            yield return $"{Section}:Port {Port} is not a TCP port (0 to {MaxPort})";
        }

        if (string.IsNullOrWhiteSpace(DataDir))
        {
            yield return $"{Section}:DataDir is empty";
        }

        if (LongPollTimeoutMs is <= 0)
        {
            yield return $"{Section}:LongPollTimeoutMs must be a positive number of milliseconds, not {LongPollTimeoutMs}";
        }

        if (MaxAppendBytes is <= 0)
        {
            yield return $"{Section}:MaxAppendBytes must be a positive number of bytes, not {MaxAppendBytes}";
        }
    }
}
