using Microsoft.Win32.SafeHandles;
using Zooflow.Common;

namespace Zooflow.Storage;

/// <summary>Appending: the bounded pending queue and the single group-commit writer thread.</summary>
public sealed partial class TxnLog
{
    private readonly Queue<PendingAppend> _queue;
    private readonly PooledBufferWriter _batchBuffer;
    private readonly Thread _writer;
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private long _lastAccepted;
    private long _lastDurable;
    private int _pending;
    private bool _rollRequested;
    private bool _stopping;
    private Exception? _writerFault;

    /// <summary>Zero block for ZeroFillPreallocation; only touched under <c>_io</c>.</summary>
    private byte[]? _zeros;

    /// <summary>Only touched under <c>_io</c>.</summary>
    private ActiveSegment? _active;

    /// <summary>Set under <c>_io</c> once the active segment is closed for good.</summary>
    private bool _closed;

    private long _appendCount;
    private long _batchCount;
    private long _fsyncCount;
    private long _failedCount;

    /// <summary>Counters of the writer (appends, batches, fsyncs, failures).</summary>
    public TxnLogStatistics Statistics => new(
        Interlocked.Read(ref _appendCount), Interlocked.Read(ref _batchCount), Interlocked.Read(ref _fsyncCount), Interlocked.Read(ref _failedCount));

    /// <summary>
    /// Appends one record. The returned task completes when the record is durable (written and, with ForceSync, fsynced),
    /// or fails with <see cref="TxnLogWriteException"/> when it could not be written (it is then not in the log).
    /// </summary>
    /// <param name="zxid">Must be greater than every zxid appended before (checked at the call, in call order).</param>
    /// <param name="payload">
    /// Opaque bytes, at most <see cref="TxnLogOptions.RecordBytesMax"/>. Not copied: the caller must not change them until
    /// the returned task completes.
    /// </param>
    /// <param name="cancellationToken">Only checked before the record is queued; a queued record cannot be withdrawn.</param>
    /// <exception cref="ArgumentOutOfRangeException">The zxid is not increasing, or the payload is too large (caller bug).</exception>
    /// <exception cref="InvalidOperationException">More than PendingRecordsMax appends are pending (the caller must bound them).</exception>
    /// <exception cref="ObjectDisposedException">The log is disposed.</exception>
    public ValueTask AppendAsync(long zxid, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return new ValueTask(Enqueue(zxid, payload).Completion.Task);
    }

    /// <summary>
    /// <see cref="AppendAsync"/> that also reports where the record was written, so it can be read back directly
    /// (the payload starts <see cref="RecordHeaderBytes"/> after <see cref="LogPosition.Offset"/>).
    /// </summary>
    /// <inheritdoc cref="AppendAsync" select="param|exception"/>
    public ValueTask<LogPosition> AppendLocatedAsync(long zxid, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<LogPosition>(cancellationToken);
        }

        return new ValueTask<LogPosition>(Enqueue(zxid, payload).Completion.Task);
    }

    /// <summary>
    /// Flushes the active segment to disk now (fdatasync or fsync as configured). For callers that run with
    /// <see cref="TxnLogOptions.ForceSync"/> off and flush periodically instead (Flume's <c>fsyncInterval</c>); a segment
    /// that is closed is flushed when it closes.
    /// </summary>
    /// <exception cref="IOException">The flush failed.</exception>
    public void Sync()
    {
        lock (_io)
        {
            ThrowIfDisposedUnderIo();
            if (_active is { } active)
            {
                Flush(active.Handle);
            }
        }
    }

    private PendingAppend Enqueue(long zxid, ReadOnlyMemory<byte> payload)
    {
        if (payload.Length > _options.RecordBytesMax)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(payload), payload.Length, $"length must be at most RecordBytesMax ({_options.RecordBytesMax}) for zxid {Zxid.Format(zxid)}");
        }

        var pending = new PendingAppend(zxid, payload);
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_writerFault is not null)
            {
                throw new InvalidOperationException("The transaction log writer stopped after an unexpected error; reopen the log", _writerFault);
            }

            if (zxid <= _lastAccepted)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(zxid), Zxid.Format(zxid), $"must be greater than the last appended zxid {Zxid.Format(_lastAccepted)}");
            }

            if (_pending >= _options.PendingRecordsMax)
            {
                ThrowHelper.ThrowInvalidOperation($"{_pending} appends are pending, the limit PendingRecordsMax is {_options.PendingRecordsMax}; the caller must bound its in-flight appends");
            }

            _lastAccepted = zxid;
            _pending++;
            _queue.Enqueue(pending);
            if (_queue.Count == 1)
            {
                Monitor.Pulse(_gate);
            }
        }

        return pending;
    }

    /// <summary>Stops accepting appends, waits until every queued append is written, and closes the active segment.</summary>
    public async ValueTask DisposeAsync()
    {
        BeginStop();
        await _writerDone.Task.ConfigureAwait(false);
        FinishStop();
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/> (blocks until the queue is written).</summary>
    public void Dispose()
    {
        BeginStop();
        _writer.Join();
        FinishStop();
    }

    private void BeginStop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void FinishStop()
    {
        lock (_io)
        {
            CloseActive(trimPadding: true);
            _batchBuffer.Dispose();
            _closed = true;
        }
    }

    private void WriterLoop()
    {
        var batch = new List<PendingAppend>(Math.Min(_options.BatchRecordsMax, 4096));
        try
        {
            while (true)
            {
                batch.Clear();
                long batchBytes = 0;
                bool roll;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_stopping)
                    {
                        Monitor.Wait(_gate);
                    }

                    if (_queue.Count == 0)
                    {
                        return;
                    }

                    // Take everything queued up to the batch limits: flush when the queue drains or a limit is hit.
                    while (_queue.Count > 0 && batch.Count < _options.BatchRecordsMax)
                    {
                        var size = LogFormat.RecordHeaderBytes + _queue.Peek().Payload.Length;
                        if (batch.Count > 0 && batchBytes + size > _options.BatchBytesMax)
                        {
                            break;
                        }

                        batch.Add(_queue.Dequeue());
                        batchBytes += size;
                    }

                    roll = _rollRequested;
                    _rollRequested = false;
                }

                TxnLogWriteException? failure = null;
                SegmentState? segment;
                long endOffset;
                lock (_io)
                {
                    try
                    {
                        WriteBatch(batch, roll);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        failure = DescribeFailure(e, batch);
                        StorageLogEvents.WriteFailed(_logger, e, failure.Message);
                        RecoverFromFailure();
                    }

                    segment = _active?.Segment;
                    endOffset = _active?.WriteOffset ?? 0;
                }

                List<PendingAppend>? abandoned = null;
                lock (_gate)
                {
                    _pending -= batch.Count;
                    if (failure is null)
                    {
                        _lastDurable = batch[^1].Zxid;
                        if (_segments.Count == 0 || !ReferenceEquals(_segments[^1], segment))
                        {
                            _segments.Add(segment!);
                        }

                        segment!.EndOffset = endOffset;
                        segment.LastZxid = _lastDurable;
                        segment.RecordCount += batch.Count;
                    }
                    else
                    {
                        // Appends queued behind the failed batch were issued assuming it would succeed: fail them too,
                        // and let the next append start again right after the last durable zxid.
                        if (_queue.Count > 0)
                        {
                            abandoned = [.. _queue];
                            _queue.Clear();
                            _pending -= abandoned.Count;
                        }

                        _lastAccepted = _lastDurable;
                    }
                }

                if (failure is null)
                {
                    Interlocked.Add(ref _appendCount, batch.Count);
                    Interlocked.Increment(ref _batchCount);
                    foreach (var pending in batch)
                    {
                        pending.Completion.TrySetResult(new LogPosition(segment!.StartZxid, pending.Offset));
                    }
                }
                else
                {
                    Interlocked.Add(ref _failedCount, batch.Count + (abandoned?.Count ?? 0));
                    foreach (var pending in batch)
                    {
                        pending.Completion.TrySetException(failure);
                    }

                    if (abandoned is not null)
                    {
                        var cause = new TxnLogWriteException(
                            $"Append abandoned: it was queued behind zxids {Zxid.Format(failure.FirstZxid)}..{Zxid.Format(failure.LastZxid)}, whose write failed: {failure.Message}",
                            failure.FilePath, failure.Offset, abandoned[0].Zxid, abandoned[^1].Zxid, failure);
                        foreach (var pending in abandoned)
                        {
                            pending.Completion.TrySetException(cause);
                        }
                    }
                }
            }
        }
        catch (Exception e)
        {
            // A bug, not an operating error: stop accepting appends rather than continue with unknown state.
            List<PendingAppend> orphans;
            lock (_gate)
            {
                _writerFault = e;
                orphans = [.. batch, .. _queue];
                _queue.Clear();
                _pending = 0;
            }

            foreach (var pending in orphans)
            {
                pending.Completion.TrySetException(new InvalidOperationException("The transaction log writer failed unexpectedly", e));
            }
        }
        finally
        {
            _writerDone.TrySetResult();
        }
    }

    /// <summary>Writes one batch with a single pwrite and at most one fsync. Runs under <c>_io</c> on the writer thread.</summary>
    private void WriteBatch(List<PendingAppend> batch, bool roll)
    {
        if (_active is not null && (roll || _active.WriteOffset >= _options.SegmentBytesMax))
        {
            CloseActive(trimPadding: true);
        }

        _active ??= CreateSegment(batch[0].Zxid);
        _batchBuffer.Clear();
        var active = _active;
        foreach (var pending in batch)
        {
            pending.Offset = active.WriteOffset + _batchBuffer.WrittenCount;
            LogFormat.WriteRecord(_batchBuffer, pending.Zxid, pending.Payload.Span);
        }

        active.FailedOffset = active.WriteOffset;
        if (_options.ZeroFillPreallocation)
        {
            ZeroFill(active, active.WriteOffset + _batchBuffer.WrittenCount);
        }

        RandomAccess.Write(active.Handle, _batchBuffer.WrittenSpan, active.WriteOffset);
        if (_options.ForceSync)
        {
            Flush(active.Handle);
            Interlocked.Increment(ref _fsyncCount);
            if (!active.DirectorySynced)
            {
                // The new file's directory entry must be durable too, or a crash could lose the whole segment.
                DirectorySync.Fsync(_options.Directory);
                active.DirectorySynced = true;
            }
        }

        active.WriteOffset += _batchBuffer.WrittenCount;
        active.HasDurableRecords = true;
    }

    /// <summary>
    /// Writes zeros from the zero-filled end up to past <paramref name="needed"/>, in PreallocateBytes steps. Best effort:
    /// on a nearly full disk the preallocation fails but the (smaller) batch may still fit, so the batch is written
    /// anyway and preallocation is tried again with the next one.
    /// </summary>
    private void ZeroFill(ActiveSegment active, long needed)
    {
        // Never below the write offset: everything before it is records (after a failed fill, ZeroFilledEnd lags behind).
        active.ZeroFilledEnd = Math.Max(active.ZeroFilledEnd, active.WriteOffset);
        if (active.ZeroFilledEnd >= needed || _options.PreallocateBytes == 0)
        {
            return;
        }

        _zeros ??= new byte[(int)Math.Min(_options.PreallocateBytes, 1024 * 1024)];
        var target = needed + _options.PreallocateBytes;
        try
        {
            while (active.ZeroFilledEnd < target)
            {
                var count = (int)Math.Min(_zeros.Length, target - active.ZeroFilledEnd);
                RandomAccess.Write(active.Handle, _zeros.AsSpan(0, count), active.ZeroFilledEnd);
                active.ZeroFilledEnd += count;
            }
        }
        catch (IOException)
        {
            // Out of space for the padding. Give back what the failed step took (only zeros beyond the records), so the
            // last free blocks go to the records themselves.
            try
            {
                RandomAccess.SetLength(active.Handle, active.ZeroFilledEnd);
            }
            catch (IOException)
            {
                // The zeros stay: valid end-of-records padding.
            }
        }
    }

    private void Flush(SafeFileHandle handle)
    {
        if (_options.UseDataSync)
        {
            FileSync.DataSync(handle);
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    private ActiveSegment CreateSegment(long startZxid)
    {
        var path = Path.Combine(_options.Directory, LogFormat.FileName(startZxid));
        if (File.Exists(path))
        {
            // Named after a zxid above the last durable one, so it holds no durable record: the leftover of a failed
            // attempt whose cleanup failed too. Replacing it loses nothing.
            File.Delete(path);
        }

        SafeFileHandle? handle = null;
        try
        {
            var fallocate = _options.ZeroFillPreallocation ? 0 : _options.PreallocateBytes;
            handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, fallocate);
            Span<byte> header = stackalloc byte[LogFormat.FileHeaderBytes];
            LogFormat.WriteFileHeader(header, _options.DatabaseId);
            RandomAccess.Write(handle, header, 0);
            return new ActiveSegment(handle, new SegmentState(path, startZxid), LogFormat.FileHeaderBytes) { ZeroFilledEnd = LogFormat.FileHeaderBytes };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            TryDelete(path);
            throw new IOException($"creating segment '{path}' (preallocating {_options.PreallocateBytes} bytes) failed: {e.Message}", e);
        }
    }

    /// <summary>Truncates the active segment back to its last durable record and closes it. Runs under <c>_io</c>.</summary>
    private void RecoverFromFailure()
    {
        var active = _active;
        if (active is null)
        {
            return;
        }

        _active = null;
        try
        {
            if (!active.HasDurableRecords)
            {
                active.Handle.Dispose();
                TryDelete(active.Segment.Path);
                return;
            }

            // Shrinking frees blocks, so it works on a full disk; it removes whatever part of the batch reached the file.
            RandomAccess.SetLength(active.Handle, active.WriteOffset);
            RandomAccess.FlushToDisk(active.Handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Readers stop at the durable end anyway, and the next Open truncates whatever is left after it.
            StorageLogEvents.WriteFailed(_logger, e, $"could not truncate '{active.Segment.Path}' back to offset {active.WriteOffset} after a failed write");
        }
        finally
        {
            active.Handle.Dispose();
        }
    }

    private TxnLogWriteException DescribeFailure(Exception e, List<PendingAppend> batch)
    {
        var path = _active?.Segment.Path ?? Path.Combine(_options.Directory, LogFormat.FileName(batch[0].Zxid));
        var offset = _active?.FailedOffset ?? 0;
        var inner = e.InnerException is IOException ? e.InnerException : e;
        var message = $"Writing zxids {Zxid.Format(batch[0].Zxid)}..{Zxid.Format(batch[^1].Zxid)} ({batch.Count} record(s)) to '{path}' at offset {offset} failed: " +
            $"{e.Message} (HResult 0x{inner.HResult:x8}). These appends are not durable; the log was cut back to its last durable zxid {Zxid.Format(ReadLastDurable())}.";
        return new TxnLogWriteException(message, path, offset, batch[0].Zxid, batch[^1].Zxid, e);
    }

    private long ReadLastDurable()
    {
        lock (_gate)
        {
            return _lastDurable;
        }
    }

    /// <summary>Closes the active segment, optionally dropping its zero padding. Runs under <c>_io</c>.</summary>
    private void CloseActive(bool trimPadding)
    {
        var active = _active;
        if (active is null)
        {
            return;
        }

        _active = null;
        try
        {
            if (trimPadding && active.HasDurableRecords)
            {
                RandomAccess.SetLength(active.Handle, active.WriteOffset);
            }

            if (!_options.ForceSync && active.HasDurableRecords)
            {
                // Without per-batch flushes (periodic Sync instead), a segment is made durable when it closes.
                Flush(active.Handle);
            }
        }
        catch (IOException)
        {
            // Zero padding is valid format; keeping it is harmless. A failed final flush of an unsynced log loses
            // nothing a process crash would not (the data is in the page cache); ForceSync=false accepts that.
        }
        finally
        {
            active.Handle.Dispose();
            if (!active.HasDurableRecords)
            {
                TryDelete(active.Segment.Path);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: recovery deletes segments without records on the next open.
        }
    }

    private sealed class PendingAppend(long zxid, ReadOnlyMemory<byte> payload)
    {
        public long Zxid { get; } = zxid;

        public ReadOnlyMemory<byte> Payload { get; } = payload;

        /// <summary>Where the writer put the record; set under <c>_io</c> before completion.</summary>
        public long Offset { get; set; }

        public TaskCompletionSource<LogPosition> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class ActiveSegment(SafeFileHandle handle, SegmentState segment, long writeOffset)
    {
        public SafeFileHandle Handle { get; } = handle;

        public SegmentState Segment { get; } = segment;

        public long WriteOffset { get; set; } = writeOffset;

        public long FailedOffset { get; set; }

        public bool HasDurableRecords { get; set; }

        public bool DirectorySynced { get; set; }

        /// <summary>With ZeroFillPreallocation: offset up to which the file holds written zeros or records.</summary>
        public long ZeroFilledEnd { get; set; }
    }
}
