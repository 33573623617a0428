using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Channels;

/// <summary>
/// Guards the transaction state machine (Flume's <c>BasicTransactionSemantics</c>, without the thread binding):
/// New → Open on the first put/take; commit/rollback → Completed; dispose → Closed (rolling back an uncompleted
/// transaction). A failed commit leaves the transaction Open so the caller rolls it back. Subclasses implement the
/// <c>Do*</c> operations only. A transaction is used by one logical flow at a time and is not itself thread-safe.
/// </summary>
public abstract class ChannelTransactionBase : IChannelTransaction
{
    private enum Mode { None, Put, Take }

    private Mode _mode;

    /// <inheritdoc />
    public TransactionState State { get; private set; } = TransactionState.New;

    /// <inheritdoc />
    public void Put(Event @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        EnsureUsable("Put", Mode.Put);
        DoPut(@event);
    }

    /// <inheritdoc />
    public Event? Take()
    {
        EnsureUsable("Take", Mode.Take);
        return DoTake();
    }

    /// <inheritdoc />
    public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureState("Commit", TransactionState.New, TransactionState.Open);
        await DoCommitAsync(cancellationToken).ConfigureAwait(false);
        State = TransactionState.Completed;
    }

    /// <inheritdoc />
    public async ValueTask RollbackAsync(CancellationToken cancellationToken = default)
    {
        EnsureState("Rollback", TransactionState.New, TransactionState.Open);
        await DoRollbackAsync(cancellationToken).ConfigureAwait(false);
        State = TransactionState.Completed;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (State == TransactionState.Closed)
        {
            return;
        }
        if (State != TransactionState.Completed)
        {
            await DoRollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }
        State = TransactionState.Closed;
        GC.SuppressFinalize(this);
    }

    /// <summary>True when this transaction has put events (false for takes or nothing yet).</summary>
    protected bool IsPut => _mode == Mode.Put;

    /// <summary>Adds to the put list.</summary>
    protected abstract void DoPut(Event @event);

    /// <summary>Takes the next event or returns null.</summary>
    protected abstract Event? DoTake();

    /// <summary>Commits the put or take list.</summary>
    protected abstract ValueTask DoCommitAsync(CancellationToken cancellationToken);

    /// <summary>Rolls back the put or take list.</summary>
    protected abstract ValueTask DoRollbackAsync(CancellationToken cancellationToken);

    private void EnsureUsable(string operation, Mode mode)
    {
        EnsureState(operation, TransactionState.New, TransactionState.Open);
        if (_mode != Mode.None && _mode != mode)
        {
            throw new InvalidOperationException($"{operation} is not allowed in a transaction that already did {_mode}s; a transaction either puts or takes");
        }
        _mode = mode;
        State = TransactionState.Open;
    }

    private void EnsureState(string operation, TransactionState a, TransactionState b)
    {
        if (State != a && State != b)
        {
            throw new InvalidOperationException($"{operation} is not allowed in transaction state {State}; expected {a} or {b}");
        }
    }
}
