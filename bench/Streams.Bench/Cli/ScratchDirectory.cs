namespace Streams.Bench.Cli;

/// <summary>A temporary directory for one benchmark run, removed on dispose unless asked to keep it.</summary>
public sealed class ScratchDirectory : IDisposable
{
    public ScratchDirectory(bool keep)
    {
        Keep = keep;
        Path = Directory.CreateTempSubdirectory("streams-bench-").FullName;
    }

    public string Path { get; }

    public bool Keep { get; }

    public void Dispose()
    {
        if (!Keep && Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
