using Streams.Actors.Storage;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// Makes the writer's database behave like a full disk: SQLite's page limit is pinned to the current
/// size, so any write that needs a new page fails with SQLITE_FULL, exactly as when the disk is full.
/// The limit belongs to the writer's connection, so it is set from inside a writer operation.
/// </summary>
internal static class DiskFull
{
    /// <summary>SQLite's default maximum page count.</summary>
    private const long DefaultMaxPageCount = 4294967294;

    public static Task Begin(WalWriter writer) => writer.Submit(new LimitPages(limit: null));

    public static Task End(WalWriter writer) => writer.Submit(new LimitPages(DefaultMaxPageCount));

    private sealed class LimitPages(long? limit) : WalOperation<bool>
    {
        protected override bool Execute(WalSession session)
        {
            var pages = limit ?? (long)session.Scalar("PRAGMA page_count")!;
            session.Scalar($"PRAGMA max_page_count = {pages}");
            return true;
        }
    }
}
