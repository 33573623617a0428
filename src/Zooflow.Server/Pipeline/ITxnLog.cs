using Zooflow.Jute;

namespace Zooflow.Server.Pipeline;

/// <summary>A transaction on its way to the log: the header (with its zxid) and the body record.</summary>
/// <param name="Header">The transaction header.</param>
/// <param name="Txn">The body: one of the txn records of <c>Records.cs</c>, or null (closeSession without paths).</param>
public sealed record LoggedTxn(TxnHeader Header, object? Txn)
{
    /// <summary>The state machine's log epoch when it prepared this transaction. After a failed append, every transaction of
    /// that epoch or older is refused without being appended: each was prepared on top of the failed ones.</summary>
    internal int Epoch { get; init; }
}

/// <summary>
/// The log stage's storage. <see cref="AppendAsync"/> is called by one loop only, never concurrently, with batches in zxid
/// order; when it returns, every transaction of the batch is durable (an in-memory implementation: accepted) and may be
/// applied and acknowledged to clients. The durable implementation (issue 3) serializes each record with
/// <c>TxnCodec</c>, appends, and group-commits one fsync per batch.
/// </summary>
/// <remarks>An exception means nothing of the batch is durable (the implementation must guarantee that, e.g. by truncating
/// a partial write): the server answers those writes, and every write prepared after them, with an error, and keeps
/// serving reads; later batches are tried again, so writes resume once the cause (a full disk) is gone. Zxids of failed
/// transactions are not reused.</remarks>
public interface ITxnLog : IAsyncDisposable
{
    /// <summary>Appends a batch durably. The list is owned by the caller and may be reused after the call returns.</summary>
    ValueTask AppendAsync(IReadOnlyList<LoggedTxn> batch, CancellationToken cancellationToken);

    /// <summary>The zxid of the last durable transaction (0 when empty), from which recovery would resume.</summary>
    long LastZxid { get; }
}

/// <summary>An <see cref="ITxnLog"/> that keeps nothing: every append is "durable" at once. Standalone, until issue 3.</summary>
public sealed class InMemoryTxnLog : ITxnLog
{
    private long _lastZxid;

    /// <inheritdoc />
    public long LastZxid => Volatile.Read(ref _lastZxid);

    /// <inheritdoc />
    public ValueTask AppendAsync(IReadOnlyList<LoggedTxn> batch, CancellationToken cancellationToken)
    {
        if (batch.Count > 0)
        {
            Volatile.Write(ref _lastZxid, batch[^1].Header.Zxid);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
