using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>Transactions and the commit path: reserve room, encode, queue the record, wait for its flush, apply in write order.</summary>
public sealed partial class FileChannel
{
    /// <summary>Rough per-event overhead of a cached event (object headers, dictionary, queue slot), for the cache budget.</summary>
    private const int CachedEventOverheadBytes = 96;

    private async ValueTask CommitPutsAsync(List<Event> puts, CancellationToken cancellationToken)
    {
        var count = puts.Count;
        if (count > Options.Capacity)
        {
            throw Full();
        }
        await ReserveAsync(count, cancellationToken).ConfigureAwait(false);
        EncodedTransaction? encoded = null;
        PendingCommit? pending = null;
        try
        {
            encoded = EncodedTransaction.Puts(puts, _descriptor);
            lock (_lock)
            {
                EnsureOpen();
                PendingWrite write;
                try
                {
                    write = _data!.Append(encoded, DataRecord.KindPut, checkSpace: true, _descriptor);
                }
                catch (ChannelFullException ex)
                {
                    if (!_spaceLow)
                    {
                        _spaceLow = true;
                        FileChannelLogEvents.SpaceLow(_logger, Name, ex.Message);
                    }
                    throw;
                }
                if (_spaceLow)
                {
                    _spaceLow = false;
                    FileChannelLogEvents.SpaceRecovered(_logger, Name);
                }
                pending = new PendingCommit(null, puts, write, encoded);
                _commits.Enqueue(pending);
            }
            await AwaitAppliedAsync(pending).ConfigureAwait(false);
            if (pending.Failure is { } failure)
            {
                throw Failed(failure, "Put", pending.Write.Directory);
            }
            _counter.AddPutSuccess(count);
        }
        catch when (pending is null || pending.Failure is not null)
        {
            TaskCompletionSource space;
            lock (_lock)
            {
                _reservedPuts -= count;
                space = SwapSpaceSignal();
            }
            space.TrySetResult();
            throw;
        }
        finally
        {
            encoded?.Dispose();
        }
    }

    private async ValueTask CommitTakesAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        List<QueueEntry> taken = transaction.Takes;
        if (taken.Count == 0)
        {
            lock (_lock)
            {
                _openTakes.Remove(transaction);
            }
            return;
        }
        var count = taken.Count;
        using var encoded = EncodedTransaction.Takes(taken);
        PendingCommit pending;
        lock (_lock)
        {
            EnsureOpen();
            var write = _data!.Append(encoded, DataRecord.KindTake, checkSpace: false, _descriptor);
            pending = new PendingCommit(transaction, null, write, encoded);
            _commits.Enqueue(pending);
        }
        await AwaitAppliedAsync(pending).ConfigureAwait(false);
        if (pending.Failure is { } failure)
        {
            // The taken events stay in the transaction: the caller rolls back and they return to the queue.
            throw Failed(failure, "Take", pending.Write.Directory);
        }
        _counter.AddTakeSuccess(count);
    }

    /// <summary>Waits for every record of the commit to be durable (or failed), then applies the commits that are
    /// complete, in write order, and waits until this one is applied.</summary>
    private async ValueTask AwaitAppliedAsync(PendingCommit pending)
    {
        Exception? failure = null;
        for (var i = 0; i < pending.Write.Writes.Length; i++)
        {
            try
            {
                pending.Positions[i] = await pending.Write.Writes[i].ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }
        }
        lock (_lock)
        {
            pending.Failure = failure;
            pending.Done = true;
            while (_commits.Count > 0 && _commits.Peek().Done)
            {
                var next = _commits.Dequeue();
                if (next.Failure is null)
                {
                    Apply(next);
                }
                next.Applied.TrySetResult();
            }
        }
        await pending.Applied.Task.ConfigureAwait(false);
    }

    /// <summary>Applies a durable commit to the queue. Runs under the lock, in write order.</summary>
    private void Apply(PendingCommit commit)
    {
        var directory = commit.Write.Directory;
        foreach (var position in commit.Positions)
        {
            _data!.Register(position.SegmentStartZxid, directory);
        }
        TaskCompletionSource? wake = null;
        if (commit.Puts is { } puts)
        {
            var next = 0;
            for (var r = 0; r < commit.Positions.Length; r++)
            {
                var payload = commit.Encoded.Record(r).Span;
                var offset = DataRecord.HeaderBytes;
                var baseOffset = commit.Positions[r].Offset + TxnLog.RecordHeaderBytes;
                for (var i = 0; i < commit.Encoded.EventCount(r); i++)
                {
                    var pointer = new EventPointer(commit.Positions[r].SegmentStartZxid, (int)(baseOffset + offset));
                    offset += DataRecord.ClaimedSize(payload[offset..]);
                    var e = puts[next++];
                    var cost = e.Body.Length + CachedEventOverheadBytes + 32 * e.Headers.Count;
                    if (_cachedBytes + cost <= Options.EventCacheBytes)
                    {
                        _cachedBytes += cost;
                        _queue.AddLast(new QueueEntry(pointer, e, cost));
                    }
                    else
                    {
                        _queue.AddLast(new QueueEntry(pointer, null, 0));
                    }
                }
            }
            _reservedPuts -= puts.Count;
            wake = _puts.Advance();
        }
        else
        {
            var transaction = commit.Owner!;
            foreach (var entry in transaction.Takes)
            {
                _cachedBytes -= entry.CachedBytes;
            }
            _reservedTakes -= transaction.Takes.Count;
            transaction.Takes.Clear();
            _openTakes.Remove(transaction);
            wake = SwapSpaceSignal();
        }
        _applied = commit.Write.LastWriteOrder;
        NoteWritten(commit.Encoded.TotalBytes);
        wake?.TrySetResult();
    }

    /// <summary>Reserves room for <paramref name="count"/> puts, waiting up to keep-alive for takes to free it.</summary>
    private async ValueTask ReserveAsync(int count, CancellationToken cancellationToken)
    {
        var deadline = _clock.GetTimestamp() + (long)(Options.KeepAlive.TotalSeconds * _clock.TimestampFrequency);
        while (true)
        {
            Task roomFreed;
            lock (_lock)
            {
                EnsureOpen();
                if (_queue.Count + _reservedTakes + _reservedPuts + count <= Options.Capacity)
                {
                    _reservedPuts += count;
                    return;
                }
                roomFreed = _space.Task;
            }
            var remaining = _clock.GetElapsedTime(_clock.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                throw Full();
            }
            try
            {
                await roomFreed.WaitAsync(remaining, _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Loop once more: the last attempt decides.
            }
        }
    }

    private Event? TakeOne(Transaction transaction)
    {
        _counter.AddTakeAttempt();
        if (transaction.Takes.Count >= Options.TransactionCapacity)
        {
            throw new ChannelException($"Take list for FileBackedTransaction, capacity {Options.TransactionCapacity} full, consider committing more frequently, increasing capacity, or increasing thread count. {_descriptor}");
        }
        while (transaction.Takes.Count < Options.TransactionCapacity)
        {
            QueueEntry entry;
            lock (_lock)
            {
                EnsureOpen();
                if (_queue.Count == 0)
                {
                    return null;
                }
                entry = _queue.RemoveFirst();
                _reservedTakes++;
                transaction.Takes.Add(entry);
                _openTakes.Add(transaction);
            }
            if (entry.Cached is { } cached)
            {
                return cached;
            }
            var e = transaction.Reader.Read(_data!, entry.Pointer, out var problem);
            if (e is not null)
            {
                return e;
            }
            // Cannot be delivered as written; retrying would fail forever. It stays in the take list, so the commit
            // removes it (Flume fails the take instead, which stalls the sink on the same event).
            Interlocked.Increment(ref _corruptSkipped);
            FileChannelLogEvents.CorruptEventSkipped(_logger, Name, $"{DataFileName(entry.Pointer)}@{entry.Pointer.Offset}", problem ?? "unknown");
        }
        return null;
    }

    private void ReturnTakes(Transaction transaction)
    {
        lock (_lock)
        {
            var taken = transaction.Takes;
            for (var i = taken.Count - 1; i >= 0; i--)
            {
                _queue.AddFirst(taken[i]);
            }
            _reservedTakes -= taken.Count;
            taken.Clear();
            _openTakes.Remove(transaction);
        }
    }

    private string DataFileName(EventPointer pointer)
    {
        var directory = _data?.DirectoryOf(pointer.Segment) ?? -1;
        var name = "log." + Zxid.ToHex(pointer.Segment);
        return directory < 0 ? name : Path.Combine(Options.DataDirs[directory], name);
    }

    private TaskCompletionSource SwapSpaceSignal()
    {
        var signal = _space;
        _space = NewSignal();
        return signal;
    }

    private ChannelFullException Full() =>
        new($"The channel has reached it's capacity. This might be the result of a sink on the channel having too low of batch size, a downstream system running slower than normal, or that the channel capacity is just too low. {_descriptor}");

    /// <summary>Maps a failed write: a full disk is back-pressure (channel full), anything else an I/O error.</summary>
    private ChannelException Failed(Exception failure, string operation, int directory)
    {
        if (failure is ObjectDisposedException)
        {
            return new ChannelException($"Channel closed {_descriptor}", failure);
        }
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is IOException io && IsDiskFull(io))
            {
                var full = new ChannelFullException($"Usable space exhausted: {failure.Message} {_descriptor}");
                lock (_lock)
                {
                    _data?.SpaceExhausted(directory);
                    if (!_spaceLow)
                    {
                        _spaceLow = true;
                        FileChannelLogEvents.SpaceLow(_logger, Name, full.Message);
                    }
                }
                return full;
            }
        }
        FileChannelLogEvents.CommitFailed(_logger, Name, failure.Message);
        return new ChannelException($"{operation} failed due to IO error {_descriptor}: {failure.Message}", failure);
    }

    /// <summary>ENOSPC (28) or EDQUOT (122) on Linux, ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    private static bool IsDiskFull(IOException exception) =>
        exception.HResult is 28 or 122 || (exception.HResult & 0xFFFF) is 112 or 39;

    /// <summary>One commit between queueing and applying.</summary>
    private sealed class PendingCommit(Transaction? owner, List<Event>? puts, PendingWrite write, EncodedTransaction encoded)
    {
        /// <summary>The take transaction (null for puts).</summary>
        public Transaction? Owner { get; } = owner;

        /// <summary>The events put (null for takes).</summary>
        public List<Event>? Puts { get; } = puts;

        public PendingWrite Write { get; } = write;

        public EncodedTransaction Encoded { get; } = encoded;

        public LogPosition[] Positions { get; } = new LogPosition[write.Writes.Length];

        public Exception? Failure { get; set; }

        public bool Done { get; set; }

        public TaskCompletionSource Applied { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// A file channel transaction: puts are kept in memory until the commit writes them as one record; takes remove
    /// events from the queue at once (other transactions do not see them) and are recorded when the commit writes them.
    /// </summary>
    private sealed class Transaction(FileChannel channel) : ChannelTransactionBase
    {
        private readonly List<Event> _puts = [];
        private EventReader? _reader;

        /// <summary>Events taken so far; changed only under the channel's lock (the checkpoint reads it).</summary>
        public List<QueueEntry> Takes { get; } = [];

        public EventReader Reader => _reader ??= new EventReader();

        protected override void DoPut(Event @event)
        {
            channel._counter.AddPutAttempt();
            if (_puts.Count >= channel.Options.TransactionCapacity)
            {
                throw new ChannelException($"Put queue for FileBackedTransaction of capacity {channel.Options.TransactionCapacity} full, consider committing more frequently, increasing capacity or increasing thread count. {channel._descriptor}");
            }
            _puts.Add(@event);
        }

        protected override Event? DoTake() => channel.TakeOne(this);

        protected override async ValueTask DoCommitAsync(CancellationToken cancellationToken)
        {
            try
            {
                if (IsPut)
                {
                    if (_puts.Count > 0)
                    {
                        await channel.CommitPutsAsync(_puts, cancellationToken).ConfigureAwait(false);
                    }
                    _puts.Clear();
                }
                else
                {
                    await channel.CommitTakesAsync(this, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                ReleaseReader();
            }
        }

        protected override ValueTask DoRollbackAsync(CancellationToken cancellationToken)
        {
            if (!IsPut)
            {
                channel.ReturnTakes(this);
            }
            _puts.Clear();
            ReleaseReader();
            return ValueTask.CompletedTask;
        }

        private void ReleaseReader()
        {
            _reader?.Dispose();
            _reader = null;
        }
    }
}
