using Akka.Actor;
using Akka.Event;
using Streams.Actors.Domain;
using Streams.Actors.Protocol;
using Streams.Actors.Restore;
using Streams.Actors.Storage;
using static Streams.Actors.Protocol.StreamCommands;
using static Streams.Actors.Protocol.StreamReplies;

namespace Streams.Actors.Actors;

/// <summary>
/// Restore-related states of a stream's owner: Hydrating (the stream is not in the local index; its
/// manifest is fetched once while every message waits in a bounded stash), Claiming (a taken-over
/// stream publishes a manifest of its own before its first append) and Evicting (an idle, fully
/// published stream drops its local rows, then Evicted until it stops or is touched again).
/// </summary>
public sealed partial class StreamActor
{
    private const string HydrationTimer = "hydration";
    private long tombstoneGeneration;

    /// <summary>True once the object store has been asked about this name (and had no live stream).</summary>
    private bool remoteChecked;

    private void StartHydration()
    {
        var hydrator = dependencies.Hydrator;
        var name = streamName;
        var timeout = dependencies.Settings.HydrationTimeout;
        // In a cluster a fork's source is read through its owner, never restored here with the fork.
        var forkSourcesRemote = dependencies.Cluster is not null;
        Task.Run(async () =>
            {
                // Gives up on the object store when the waiting requests do: a request that never
                // answers must not hold a connection, nor write rows long after the owner moved on.
                using var giveUp = new CancellationTokenSource(timeout);
                return await hydrator.HydrateAsync(name, forkSourcesRemote, giveUp.Token);
            })
            .PipeTo(
                Self,
                success: outcome => new Hydrated(outcome),
                // Only the give-up above cancels: whichever of it and the timer comes first, it is a timeout.
                failure: exception => exception is OperationCanceledException ? new HydrationTimedOut() : new HydrationFailed(exception.Message));
        Timers.StartSingleTimer(HydrationTimer, new HydrationTimedOut(), timeout);
        Become(Hydrating);
    }

    private void Hydrating()
    {
        Receive<Hydrated>(hydrated =>
        {
            Timers.Cancel(HydrationTimer);
            remoteChecked = true;
            if (hydrated.Outcome.Row is { } row)
            {
                stream = new LiveStream(row);
                SignalTail(stream, activity: false);
                BecomeReady();
            }
            else
            {
                tombstoneGeneration = hydrated.Outcome.RemoteGeneration;
                stream = null;
                BecomeAbsent();
            }

            UnstashAllWaiting();
        });
        Receive<HydrationFailed>(failed => FailHydration($"the stream could not be restored from the object store: {failed.Error}"));
        Receive<HydrationTimedOut>(_ => FailHydration("restoring the stream from the object store took too long"));
        ReceiveAny(message => StashOrReject(
            message,
            dependencies.Settings.HydrationStashLimit,
            "the stream is being restored and too many requests are waiting; retry"));
    }

    /// <summary>Every waiting request gets a typed error; the owner then stops so the next request retries.</summary>
    private void FailHydration(string reason)
    {
        Timers.Cancel(HydrationTimer);
        log.Warning("Hydration of stream {0} failed: {1}", streamName, reason);
        RejectStashed(reason);
        Become(Failed);
    }

    /// <summary>
    /// A create on a name with no local row: ask the object store first, so an existing remote
    /// stream is restored rather than overwritten.
    /// </summary>
    private bool CheckRemoteBeforeCreate()
    {
        if (remoteChecked)
        {
            return false;
        }

        Stash.Stash();
        StartHydration();
        return true;
    }

    // ---- Claiming: publish our own manifest before the first append of a taken-over stream ----

    private void StartClaim(LiveStream live)
    {
        Stash.Stash();
        var publisher = dependencies.Publisher;
        var walWriter = dependencies.WalWriter;
        var streamId = live.StreamId;
        var name = streamName;
        Task.Run(async () =>
            {
                try
                {
                    await publisher.PublishAsync(streamId, draining: false, CancellationToken.None);
                }
                catch (InvalidOperationException)
                {
                    // The uploader published a newer generation meanwhile: it carries the same epochs.
                }
                catch (ManifestConflictException conflict)
                {
                    // Another node published since this one restored the stream: what this node holds
                    // is stale. Drop it; the waiting requests are served from the newer manifest.
                    await publisher.ForfeitAsync(streamId, name);
                    return (object)new ClaimLost(conflict.Message);
                }

                await walWriter.Submit(new ClaimOwnershipOperation(streamId));
                return new OwnershipClaimed();
            })
            .PipeTo(Self, failure: exception => new OwnershipClaimFailed(exception.Message));
        SetReceiveTimeout(null);
        Become(Claiming);
    }

    private void Claiming()
    {
        Receive<OwnershipClaimed>(_ =>
        {
            stream!.OwnershipClaimed = true;
            BecomeReady();
            UnstashAllWaiting();
        });
        Receive<ClaimLost>(lost =>
        {
            log.Warning("Fenced: {0} Restoring its newer manifest before answering the waiting requests.", lost.Reason);
            RestoreAfterOwnershipLost();
        });
        Receive<OwnershipClaimFailed>(failed =>
        {
            log.Warning("Publishing a manifest before the first append to {0} failed: {1}", streamName, failed.Error);
            // Ready first: a stop request handed back by RejectStashed is then answered there.
            BecomeReady();
            RejectStashed("the object store is unavailable; retry");
        });
        Receive<WaiterTimedOut>(HandleWaiterTimedOut);
        ReceiveAny(StashOrReject);
    }

    // ---- Evicting: bounded local disk under lazy restore ---------------------------------------

    private bool ShouldEvictWhenIdle() =>
        dependencies.RestoreMode == RestoreMode.Lazy && dependencies.Settings.EvictWhenIdle && stream is not null;

    private void StartEviction(LiveStream live)
    {
        var shared = dependencies;
        var streamId = live.StreamId;
        var name = live.Name;
        var lastAccessMs = live.LastAccessMs;
        Task.Run(async () =>
            {
                try
                {
                    return await EvictLocalCopyAsync(shared, streamId, name, lastAccessMs);
                }
                finally
                {
                    // Evicted (its id is never used again) or still here and owned: compaction may go on.
                    shared.Compaction?.Readmit(streamId);
                }
            })
            .PipeTo(Self, success: evicted => new EvictionFinished(evicted), failure: _ => new EvictionFinished(false));
        SetReceiveTimeout(null);
        Become(Evicting);
    }

    /// <summary>
    /// Drops the stream's local rows and files when the object store holds all of it (see
    /// <see cref="EvictStreamOperation"/>); false when something is still unpublished. Compaction is
    /// withheld from the stream first and stays so: a compaction must not write into the directory
    /// the eviction removes, nor commit a layout the eviction would then refuse.
    /// </summary>
    private static async Task<bool> EvictLocalCopyAsync(StreamDependencies shared, long streamId, string name, long lastAccessMs)
    {
        await (shared.Compaction?.WithholdAsync(streamId) ?? Task.CompletedTask);
        if (!await shared.WalWriter.Submit(new EvictStreamOperation(streamId, lastAccessMs)))
        {
            return false;
        }

        shared.Segments.RemoveStreamFiles(name);
        return true;
    }

    private void Evicting()
    {
        Receive<EvictionFinished>(finished =>
        {
            if (finished.Evicted)
            {
                // Nothing local is left to serve from. Loading again now would hydrate the rows
                // straight back; wait for the stop instead, unless a request comes first.
                stream = null;
                remoteChecked = false;
                Become(Evicted);
            }
            else
            {
                BecomeReady();
            }

            RequestPassivation();
            UnstashAllWaiting();
        });
        ReceiveAny(StashOrReject);
    }

    /// <summary>Rows dropped, stop requested: the stop ends it, a request restores the stream first.</summary>
    private void Evicted()
    {
        Receive<StreamSupervisorActor.StopWhenIdle>(_ => Context.Stop(Self));
        Receive<PlacementMessages.HandOff>(_ => Context.Stop(Self));
        Receive<IStreamCommand>(_ =>
        {
            // The stop then waits in the stash and is handled once the stream is loaded.
            Stash.Stash();
            StartLoading();
            Become(Loading);
        });
        Receive<WaiterTimedOut>(_ => { });
    }

    private sealed record Hydrated(HydrationOutcome Outcome);

    private sealed record HydrationFailed(string Error);

    private sealed record HydrationTimedOut;

    private sealed record OwnershipClaimed;

    private sealed record OwnershipClaimFailed(string Error);

    private sealed record ClaimLost(string Reason);

    private sealed record EvictionFinished(bool Evicted);
}
