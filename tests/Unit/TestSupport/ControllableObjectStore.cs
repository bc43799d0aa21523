using System.Collections.Concurrent;
using Streams.Actors.ObjectStore;

namespace Streams.Tests.Unit.TestSupport;

/// <summary>
/// An object-store decorator a test can steer: calls that match a rule are held at a gate until the
/// test releases them (or fails them, or never does), or fail at once. It also tracks how many calls
/// of each kind are in flight, so a test can observe parallelism. Rules are checked newest first.
/// </summary>
public sealed class ControllableObjectStore(IObjectStore inner) : IObjectStore
{
    private readonly ConcurrentDictionary<ObjectStoreOperation, int> inFlight = new();
    private readonly ConcurrentDictionary<ObjectStoreOperation, int> maxInFlight = new();
    private readonly Lock rulesLock = new();
    private readonly List<Rule> rules = [];

    /// <summary>Holds every matching call until <see cref="Gate.Release"/> or <see cref="Gate.Fail"/>.</summary>
    public Gate Hold(ObjectStoreOperation operation, Func<string, bool> keyMatches)
    {
        var gate = new Gate();
        Add(new Rule(operation, keyMatches, gate, null));
        return gate;
    }

    /// <summary>Every matching call throws the exception the factory makes.</summary>
    public void Fail(ObjectStoreOperation operation, Func<string, bool> keyMatches, Func<Exception> exception) =>
        Add(new Rule(operation, keyMatches, null, exception));

    /// <summary>
    /// Every matching call reaches the inner store and then throws, as if the process died after the
    /// store took the request but before the caller saw the reply.
    /// </summary>
    public void FailAfter(ObjectStoreOperation operation, Func<string, bool> keyMatches, Func<Exception> exception) =>
        Add(new Rule(operation, keyMatches, null, null) { FailureAfter = exception });

    /// <summary>Drops every rule and releases every held call, so nothing stays blocked after a test.</summary>
    public void ClearRules()
    {
        List<Rule> removed;
        lock (rulesLock)
        {
            removed = [.. rules];
            rules.Clear();
        }

        foreach (var rule in removed)
        {
            rule.Gate?.Release();
        }
    }

    /// <summary>The most calls of <paramref name="operation"/> that were in flight at the same time.</summary>
    public int MaxInFlight(ObjectStoreOperation operation) => maxInFlight.GetValueOrDefault(operation);

    public int InFlight(ObjectStoreOperation operation) => inFlight.GetValueOrDefault(operation);

    public Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.Put, key, cancellationToken, async () =>
        {
            await inner.PutAsync(key, content, cancellationToken);
            return true;
        });

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.Get, key, cancellationToken, () => inner.GetAsync(key, cancellationToken));

    public Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.Get, key, cancellationToken, () => inner.GetVersionedAsync(key, cancellationToken));

    /// <summary>Rules for <see cref="ObjectStoreOperation.Put"/> apply to conditional puts as well.</summary>
    public Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.Put, key, cancellationToken, () => inner.PutIfVersionAsync(key, content, expectedVersion, cancellationToken));

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.Head, key, cancellationToken, () => inner.HeadAsync(key, cancellationToken));

    public Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.List, prefix, cancellationToken, () => inner.ListAsync(prefix, continuationToken, maxKeys, cancellationToken));

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        RunAsync(ObjectStoreOperation.Delete, key, cancellationToken, async () =>
        {
            await inner.DeleteAsync(key, cancellationToken);
            return true;
        });

    private void Add(Rule rule)
    {
        lock (rulesLock)
        {
            rules.Insert(0, rule);
        }
    }

    private Rule? Match(ObjectStoreOperation operation, string key)
    {
        lock (rulesLock)
        {
            return rules.FirstOrDefault(rule => rule.Operation == operation && rule.KeyMatches(key));
        }
    }

    private async Task<T> RunAsync<T>(ObjectStoreOperation operation, string key, CancellationToken cancellationToken, Func<Task<T>> call)
    {
        var now = inFlight.AddOrUpdate(operation, 1, (_, count) => count + 1);
        maxInFlight.AddOrUpdate(operation, now, (_, max) => Math.Max(max, now));
        try
        {
            if (Match(operation, key) is { } rule)
            {
                if (rule.Failure is { } failure)
                {
                    throw failure();
                }

                if (rule.FailureAfter is { } failureAfter)
                {
                    await call();
                    throw failureAfter();
                }

                await rule.Gate!.PassAsync(cancellationToken);
            }

            return await call();
        }
        finally
        {
            inFlight.AddOrUpdate(operation, 0, (_, count) => count - 1);
        }
    }

    private sealed record Rule(ObjectStoreOperation Operation, Func<string, bool> KeyMatches, Gate? Gate, Func<Exception>? Failure)
    {
        public Func<Exception>? FailureAfter { get; init; }
    }

    /// <summary>Where held calls wait. Counts arrivals so a test can wait until a call is being held.</summary>
    public sealed class Gate
    {
        private readonly TaskCompletionSource opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock arrivalsLock = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> arrivalWaiters = [];
        private int arrivals;

        public int Arrivals => Volatile.Read(ref arrivals);

        /// <summary>Lets every held call (and every later one) through to the inner store.</summary>
        public void Release() => opened.TrySetResult();

        /// <summary>Every held call (and every later one) throws <paramref name="exception"/>.</summary>
        public void Fail(Exception exception) => opened.TrySetException(exception);

        /// <summary>Completes once at least <paramref name="count"/> calls have reached the gate.</summary>
        public Task WhenArrived(int count = 1)
        {
            lock (arrivalsLock)
            {
                if (arrivals >= count)
                {
                    return Task.CompletedTask;
                }

                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                arrivalWaiters.Add((count, reached));
                return reached.Task;
            }
        }

        internal Task PassAsync(CancellationToken cancellationToken)
        {
            lock (arrivalsLock)
            {
                arrivals++;
                foreach (var waiter in arrivalWaiters.Where(waiter => waiter.Count <= arrivals).ToList())
                {
                    arrivalWaiters.Remove(waiter);
                    waiter.Reached.TrySetResult();
                }
            }

            return opened.Task.WaitAsync(cancellationToken);
        }
    }
}
