using Streams.Actors.ObjectStore;

namespace Streams.Tests.Support;

/// <summary>What <see cref="FlakyObjectStore"/> does to one call.</summary>
public enum InjectedFault
{
    /// <summary>The call goes through untouched.</summary>
    None,

    /// <summary>The call fails before it reaches the store: nothing is written or read.</summary>
    FailBefore,

    /// <summary>
    /// The store performs the call, then the reply is lost and the caller sees a failure: a write
    /// whose outcome the caller cannot know.
    /// </summary>
    FailAfter,

    /// <summary>The call hangs until the store's timeout, then fails without having reached the store.</summary>
    Timeout,

    /// <summary>A Get returns fewer bytes than the object holds, without an error. Other calls go through.</summary>
    ShortRead,
}

/// <summary>One call made through a <see cref="FlakyObjectStore"/>.</summary>
/// <param name="Started">When the call started, on a clock shared by starts and finishes of all calls.</param>
/// <param name="Finished">When the call returned or threw, on the same clock.</param>
/// <param name="Operation">Which operation.</param>
/// <param name="Key">The key (the prefix for List).</param>
/// <param name="Fault">What was injected.</param>
/// <param name="ReachedStore">The inner store performed the call.</param>
/// <param name="Content">What a Put wrote (or tried to write); null for other operations.</param>
public sealed record FlakyCall(
    long Started,
    long Finished,
    ObjectStoreOperation Operation,
    string Key,
    InjectedFault Fault,
    bool ReachedStore,
    byte[]? Content)
{
    /// <summary>The caller was told the call succeeded.</summary>
    public bool Succeeded => ReachedStore && Fault is InjectedFault.None or InjectedFault.ShortRead;
}

/// <summary>
/// Wraps a store and injects failures, timeouts, lost replies and short reads, as a policy decides
/// per call. Records every call so a test can check the order in which keys were written. Safe for
/// concurrent use.
/// </summary>
public sealed class FlakyObjectStore : IObjectStore
{
    private readonly IObjectStore inner;
    private readonly Func<ObjectStoreOperation, string, InjectedFault> policy;
    private readonly TimeSpan timeout;
    private readonly Lock callsLock = new();
    private readonly List<FlakyCall> calls = [];
    private long clock;

    /// <param name="inner">The store that holds the objects.</param>
    /// <param name="policy">Decides the fault of each call from its operation and key; called on the caller's thread.</param>
    /// <param name="timeout">How long a <see cref="InjectedFault.Timeout"/> call hangs before it fails.</param>
    public FlakyObjectStore(IObjectStore inner, Func<ObjectStoreOperation, string, InjectedFault> policy, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(policy);
        this.inner = inner;
        this.policy = policy;
        this.timeout = timeout;
    }

    /// <summary>
    /// A policy that fails each call with <paramref name="failureRate"/>, spread over every kind of
    /// fault, from a seeded generator so a failing run can be repeated.
    /// </summary>
    public static Func<ObjectStoreOperation, string, InjectedFault> RandomFaults(int seed, double failureRate)
    {
        var random = new Random(seed);
        var gate = new Lock();
        InjectedFault[] kinds = [InjectedFault.FailBefore, InjectedFault.FailAfter, InjectedFault.Timeout, InjectedFault.ShortRead];
        return (_, _) =>
        {
            lock (gate)
            {
                return random.NextDouble() < failureRate ? kinds[random.Next(kinds.Length)] : InjectedFault.None;
            }
        };
    }

    /// <summary>Every finished call so far, in the order they started.</summary>
    public IReadOnlyList<FlakyCall> Calls
    {
        get
        {
            lock (callsLock)
            {
                return [.. calls.OrderBy(call => call.Started)];
            }
        }
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.Put, key);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.Put, key, cancellationToken);
            await inner.PutAsync(key, content, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.Put, key);
        }
        finally
        {
            Record(started, ObjectStoreOperation.Put, key, fault, reached, content.ToArray());
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.Get, key);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.Get, key, cancellationToken);
            var bytes = await inner.GetAsync(key, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.Get, key);
            if (fault == InjectedFault.ShortRead && bytes is { Length: > 0 })
            {
                // Like a connection that closes early without an error: a prefix of the object.
                return bytes[..(bytes.Length / 2)];
            }

            return bytes;
        }
        finally
        {
            Record(started, ObjectStoreOperation.Get, key, fault, reached, content: null);
        }
    }

    /// <summary>Faults for <see cref="ObjectStoreOperation.Put"/> apply; a conditional put is one.</summary>
    public async Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.Put, key);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.Put, key, cancellationToken);
            var version = await inner.PutIfVersionAsync(key, content, expectedVersion, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.Put, key);
            return version;
        }
        finally
        {
            Record(started, ObjectStoreOperation.Put, key, fault, reached, content.ToArray());
        }
    }

    /// <summary>Faults for <see cref="ObjectStoreOperation.Get"/> apply; a short read keeps the version.</summary>
    public async Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.Get, key);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.Get, key, cancellationToken);
            var read = await inner.GetVersionedAsync(key, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.Get, key);
            if (fault == InjectedFault.ShortRead && read is { Content.Length: > 0 })
            {
                return read with { Content = read.Content[..(read.Content.Length / 2)] };
            }

            return read;
        }
        finally
        {
            Record(started, ObjectStoreOperation.Get, key, fault, reached, content: null);
        }
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.Head, key);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.Head, key, cancellationToken);
            var info = await inner.HeadAsync(key, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.Head, key);
            return info;
        }
        finally
        {
            Record(started, ObjectStoreOperation.Head, key, fault, reached, content: null);
        }
    }

    public async Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.List, prefix);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.List, prefix, cancellationToken);
            var page = await inner.ListAsync(prefix, continuationToken, maxKeys, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.List, prefix);
            return page;
        }
        finally
        {
            Record(started, ObjectStoreOperation.List, prefix, fault, reached, content: null);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var fault = policy(ObjectStoreOperation.Delete, key);
        var started = Tick();
        var reached = false;
        try
        {
            await BeforeAsync(fault, ObjectStoreOperation.Delete, key, cancellationToken);
            await inner.DeleteAsync(key, cancellationToken);
            reached = true;
            After(fault, ObjectStoreOperation.Delete, key);
        }
        finally
        {
            Record(started, ObjectStoreOperation.Delete, key, fault, reached, content: null);
        }
    }

    private async Task BeforeAsync(InjectedFault fault, ObjectStoreOperation operation, string key, CancellationToken cancellationToken)
    {
        switch (fault)
        {
            case InjectedFault.FailBefore:
                throw new ObjectStoreException($"injected failure: {operation} {key} did not reach the store");
            case InjectedFault.Timeout:
                await Task.Delay(timeout, cancellationToken);
                throw new ObjectStoreException($"injected timeout: {operation} {key} got no answer within {timeout.TotalMilliseconds} ms");
        }
    }

    private static void After(InjectedFault fault, ObjectStoreOperation operation, string key)
    {
        if (fault == InjectedFault.FailAfter)
        {
            throw new ObjectStoreException($"injected failure: {operation} {key} was performed but its reply was lost");
        }
    }

    private long Tick() => Interlocked.Increment(ref clock);

    private void Record(long started, ObjectStoreOperation operation, string key, InjectedFault fault, bool reached, byte[]? content)
    {
        var finished = Tick();
        lock (callsLock)
        {
            calls.Add(new FlakyCall(started, finished, operation, key, fault, reached, content));
        }
    }
}
