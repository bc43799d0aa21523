namespace Streams.Tests.Unit.Support;

/// <summary>A directory of one test's own under the system temp directory, deleted with its contents on dispose.</summary>
internal sealed class TestDirectory : IDisposable
{
    public TestDirectory(string purpose)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"streams-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
