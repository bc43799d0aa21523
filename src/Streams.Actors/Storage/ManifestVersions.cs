namespace Streams.Actors.Storage;

/// <summary>The object version (ETag) of a stream's manifest and the generation that manifest carried.</summary>
public sealed record ManifestVersion(long Generation, string Version);

/// <summary>
/// Writes of the manifest_versions table, always inside the transaction of the state they describe
/// (a publish, a tombstone, a restore), so the remembered version never runs ahead of the index.
/// </summary>
internal static class ManifestVersions
{
    public static void Record(WalSession session, string name, long generation, string? version)
    {
        if (version is null)
        {
            session.Execute("DELETE FROM manifest_versions WHERE name = $name", ("$name", name));
            return;
        }

        session.Execute(
            """
            INSERT INTO manifest_versions (name, generation, version) VALUES ($name, $generation, $version)
            ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, version = excluded.version
            """,
            ("$name", name),
            ("$generation", generation),
            ("$version", version));
    }
}

/// <summary>
/// Remembers what a fetch found at a stream's manifest key when no rows are written for it (a
/// tombstone, or nothing), so that this node's next publish under the name compares against it.
/// Skipped when the name has a local row: that row's own publishes keep the version.
/// </summary>
public sealed class RecordManifestVersionOperation(string name, long generation, string? version) : WalOperation<bool>
{
    protected override bool Execute(WalSession session)
    {
        if (session.Scalar("SELECT 1 FROM streams WHERE name = $name", ("$name", name)) is not null)
        {
            return false;
        }

        ManifestVersions.Record(session, name, generation, version);
        return true;
    }
}
