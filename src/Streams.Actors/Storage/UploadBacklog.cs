namespace Streams.Actors.Storage;

/// <summary>
/// Payload bytes acknowledged but not yet published to the object store. Appends add to it, the
/// uploader resets it from the index after every round, so it corrects itself.
/// </summary>
public sealed class UploadBacklog
{
    private long bytes;

    public long Bytes => Interlocked.Read(ref bytes);

    public void Add(long appended) => Interlocked.Add(ref bytes, appended);

    public void Reset(long measured) => Interlocked.Exchange(ref bytes, measured);
}
