namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// A channel buffers events between sources and sinks. All access goes through explicit transactions
/// (<see cref="BeginTransaction"/>): puts become visible to takers only when their transaction commits, and a take is
/// final only when its transaction commits — a rollback returns taken events to the head of the channel in order.
/// </summary>
/// <remarks>
/// Thread-safety: a channel is shared by any number of sources and sinks running concurrently; each transaction is used
/// by one logical flow at a time (it may move between threads across awaits — it is never bound to a thread).
/// </remarks>
public interface IChannel : ILifecycle
{
    /// <summary>The component name from the configuration (e.g. <c>c1</c>).</summary>
    string Name { get; }

    /// <summary>Opens a new transaction. The caller must commit or roll back, then dispose it.</summary>
    IChannelTransaction BeginTransaction();

    /// <summary>Events committed and not yet taken (committed takes subtracted).</summary>
    long Size { get; }

    /// <summary>Maximum number of events the channel holds.</summary>
    long Capacity { get; }
}

/// <summary>State of a channel transaction; transitions are New → Open → Completed → Closed.</summary>
public enum TransactionState
{
    /// <summary>Created, no operation yet.</summary>
    New,
    /// <summary>At least one put or take happened, or begun explicitly.</summary>
    Open,
    /// <summary>Committed or rolled back.</summary>
    Completed,
    /// <summary>Disposed.</summary>
    Closed,
}

/// <summary>
/// An explicit channel transaction (Flume's <c>Transaction</c> without the thread binding). Usage:
/// <code>
/// await using var tx = channel.BeginTransaction();
/// tx.Put(e1); tx.Put(e2);
/// await tx.CommitAsync(ct);   // or await tx.RollbackAsync(ct)
/// </code>
/// A transaction either puts or takes, never both (as in Flume's channels). Calling an operation in the wrong state
/// throws <see cref="InvalidOperationException"/> naming the current and expected state. Disposing an uncommitted
/// transaction rolls it back.
/// </summary>
public interface IChannelTransaction : IAsyncDisposable
{
    /// <summary>The current state.</summary>
    TransactionState State { get; }

    /// <summary>Adds an event to this transaction's put list. Throws <see cref="ChannelException"/> when the
    /// transaction's capacity (transactionCapacity) is exceeded.</summary>
    void Put(Event @event);

    /// <summary>Takes the next committed event, or null when the channel is empty (does not wait).
    /// Throws <see cref="ChannelException"/> when the take list is full.</summary>
    Event? Take();

    /// <summary>Makes the puts visible (or the takes final). For a durable channel it completes only once the
    /// transaction is on disk. Throws <see cref="ChannelFullException"/> when there is no room for the puts.</summary>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>Discards the puts, or returns the taken events to the head of the channel in their order.</summary>
    ValueTask RollbackAsync(CancellationToken cancellationToken = default);
}

/// <summary>A channel operation failed (Flume's <c>ChannelException</c>); the transaction must be rolled back.</summary>
public class ChannelException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The channel has no room for a commit (Flume's <c>ChannelFullException</c>); sources back off.</summary>
public sealed class ChannelFullException(string message) : ChannelException(message);
