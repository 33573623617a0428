using System.Buffers;
using System.Diagnostics;
using Zooflow.Common;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>Background work: checkpoints every checkpointInterval and after every
/// <see cref="FileChannelOptions.CheckpointBytes"/> written
/// (and deleting the data files they free), and the periodic flush when fsyncPerTransaction is off.</summary>
public sealed partial class FileChannel
{
    /// <summary>Checkpoints kept per directory: the newest, and the one before in case the newest is damaged.</summary>
    private const int CheckpointsKept = 2;

    private readonly SemaphoreSlim _checkpointGate = new(1, 1);

    /// <summary>Bytes of records applied since the last checkpoint started (under the lock).</summary>
    private long _bytesSinceCheckpoint;

    /// <summary>Completed (under the lock) when CheckpointBytes were written: wakes the background loop.</summary>
    private TaskCompletionSource _checkpointWanted = NewSignal();

    /// <summary>Write order of the last checkpoint written or loaded; -1 when the state on disk needs a new one.</summary>
    private long _lastCheckpoint = -1;

    private async Task BackgroundAsync(CancellationToken cancellationToken)
    {
        if (_lastCheckpoint < 0)
        {
            // After a replay (or on a new channel), checkpoint at once so the next start does not replay the same again.
            await CheckpointAsync(cancellationToken).ConfigureAwait(false);
        }
        var nextCheckpoint = _clock.GetTimestamp() + Ticks(Options.CheckpointInterval);
        var nextSync = Options.FsyncPerTransaction ? long.MaxValue : _clock.GetTimestamp() + Ticks(Options.FsyncInterval);
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = _clock.GetTimestamp();
            var wait = Math.Max(0, Math.Min(nextCheckpoint, nextSync) - now);
            Task wanted;
            lock (_lock)
            {
                wanted = _checkpointWanted.Task;
            }
            using (var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds((double)wait / _clock.TimestampFrequency), _clock, timer.Token), wanted).ConfigureAwait(false);
                await timer.CancelAsync().ConfigureAwait(false);
            }
            cancellationToken.ThrowIfCancellationRequested();
            now = _clock.GetTimestamp();
            if (wanted.IsCompleted)
            {
                nextCheckpoint = now;
            }
            if (now >= nextSync)
            {
                try
                {
                    _data!.Sync();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    FileChannelLogEvents.SyncFailed(_logger, Name, ex);
                }
                nextSync = now + Ticks(Options.FsyncInterval);
            }
            if (now >= nextCheckpoint)
            {
                await CheckpointAsync(cancellationToken).ConfigureAwait(false);
                nextCheckpoint = _clock.GetTimestamp() + Ticks(Options.CheckpointInterval);
            }
        }
    }

    /// <summary>
    /// Writes the queue at the applied write order (open takes first), copies it to the backup directory, keeps the
    /// newest checkpoints only, and deletes the data files nothing refers to any more. Only the copy of the queue's
    /// pointers happens under the lock.
    /// </summary>
    private async Task<bool> CheckpointAsync(CancellationToken cancellationToken)
    {
        if (_data is null || _checkpoints is null)
        {
            return false;
        }
        await _checkpointGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        EventPointer[]? pointers = null;
        try
        {
            var started = Stopwatch.GetTimestamp();
            long writeOrder;
            var count = 0;
            lock (_lock)
            {
                if (_applied == _lastCheckpoint)
                {
                    return false;
                }
                writeOrder = _applied;
                _bytesSinceCheckpoint = 0;
                if (_checkpointWanted.Task.IsCompleted)
                {
                    _checkpointWanted = NewSignal();
                }
                var total = _queue.Count;
                foreach (var transaction in _openTakes)
                {
                    total += transaction.Takes.Count;
                }
                pointers = ArrayPool<EventPointer>.Shared.Rent(Math.Max(1, total));
                foreach (var transaction in _openTakes)
                {
                    foreach (var entry in transaction.Takes)
                    {
                        pointers[count++] = entry.Pointer;
                    }
                }
                for (var i = 0; i < _queue.Count; i++)
                {
                    pointers[count++] = _queue[i].Pointer;
                }
            }

            using var body = new PooledBufferWriter(64 * 1024);
            CheckpointFormat.Write(body, writeOrder, pointers.AsSpan(0, count));
            try
            {
                // The checkpoint refers to records up to writeOrder: they must be on disk before it is (this matters
                // when commits do not flush, fsyncPerTransaction = false).
                _data.Sync();
                await _checkpoints.WriteAsync(writeOrder, (stream, ct) => stream.WriteAsync(body.WrittenMemory, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                FileChannelLogEvents.CheckpointFailed(_logger, Name, ex);
                return false;
            }
            if (_backupCheckpoints is not null)
            {
                try
                {
                    await _backupCheckpoints.WriteAsync(writeOrder, (stream, ct) => stream.WriteAsync(body.WrittenMemory, ct), cancellationToken).ConfigureAwait(false);
                    DeleteOlderCheckpoints(_backupCheckpoints);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    FileChannelLogEvents.BackupCheckpointFailed(_logger, Name, _backupCheckpoints.Directory, ex);
                }
            }
            DeleteOlderCheckpoints(_checkpoints);
            _lastCheckpoint = writeOrder;

            var oldest = new Dictionary<int, long>();
            var previous = long.MinValue;
            for (var i = 0; i < count; i++)
            {
                var segment = pointers[i].Segment;
                if (segment == previous)
                {
                    continue;
                }
                previous = segment;
                var directory = _data.DirectoryOf(segment);
                if (directory >= 0 && (!oldest.TryGetValue(directory, out var known) || segment < known))
                {
                    oldest[directory] = segment;
                }
            }
            var deleted = _data.Purge(writeOrder, oldest);
            if (deleted.Count > 0)
            {
                FileChannelLogEvents.DataFilesDeleted(_logger, Name, deleted.Count, string.Join(", ", deleted));
            }
            FileChannelLogEvents.CheckpointWritten(_logger, Name, writeOrder, count, body.WrittenCount, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return true;
        }
        finally
        {
            if (pointers is not null)
            {
                ArrayPool<EventPointer>.Shared.Return(pointers);
            }
            _checkpointGate.Release();
        }
    }

    /// <summary>Counts written bytes; past CheckpointBytes wakes the background loop. Under the lock.</summary>
    private void NoteWritten(long bytes)
    {
        _bytesSinceCheckpoint += bytes;
        if (_bytesSinceCheckpoint >= Options.CheckpointBytes)
        {
            _checkpointWanted.TrySetResult();
        }
    }

    private static void DeleteOlderCheckpoints(SnapshotStore store)
    {
        var files = store.List();
        for (var i = CheckpointsKept; i < files.Count; i++)
        {
            try
            {
                File.Delete(files[i].Path);
            }
            catch (IOException)
            {
                // Harmless: an old checkpoint is only read if every newer one is unusable.
            }
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _clock.TimestampFrequency);
}
