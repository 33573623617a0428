using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Zooflow.Common;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>Something replay could not keep, and where it was.</summary>
/// <param name="What">What was dropped, e.g. "2 events of the checkpoint" or "incomplete transaction 0x1f".</param>
/// <param name="Where">The file and offset (or the file), e.g. <c>/data/log.1@4096</c>.</param>
/// <param name="Reason">Why.</param>
public sealed record ReplayDrop(string What, string Where, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => $"{What} at {Where}: {Reason}";
}

/// <summary>How a file channel restored its queue at start, for the log line, metrics and tests.</summary>
/// <param name="Source">Where the queue came from: <c>checkpoint &lt;file&gt;</c>, <c>backup checkpoint &lt;file&gt;</c>,
/// <c>full replay of the data files</c> or <c>new channel</c>.</param>
/// <param name="FromCheckpoint">True when a checkpoint (or its backup) was loaded.</param>
/// <param name="UsedBackup">True when the backup checkpoint was used.</param>
/// <param name="FullReplay">True when no checkpoint was usable and every data file was replayed.</param>
/// <param name="CheckpointWriteOrder">The write order of the checkpoint used (0 with a full replay).</param>
/// <param name="CheckpointEvents">Events the checkpoint listed.</param>
/// <param name="RejectedCheckpoints">Checkpoint files passed over, each "file: reason".</param>
/// <param name="ReplayedRecords">Records replayed after the checkpoint.</param>
/// <param name="ReplayedPuts">Events those records put.</param>
/// <param name="ReplayedTakes">Events those records took.</param>
/// <param name="Truncations">Torn or corrupt data file tails cut off by the log's recovery (file, offset, bytes, reason).</param>
/// <param name="Dropped">Everything else replay could not keep.</param>
/// <param name="Events">Events queued after recovery.</param>
/// <param name="ElapsedMs">Time to open, load and replay.</param>
/// <param name="ReplayMs">Time of the replay part.</param>
public sealed record FileChannelRecovery(
    string Source, bool FromCheckpoint, bool UsedBackup, bool FullReplay, long CheckpointWriteOrder, long CheckpointEvents,
    IReadOnlyList<string> RejectedCheckpoints, long ReplayedRecords, long ReplayedPuts, long ReplayedTakes,
    IReadOnlyList<LogTruncation> Truncations, IReadOnlyList<ReplayDrop> Dropped, long Events, long ElapsedMs, long ReplayMs);

/// <summary>
/// Start-up of a file channel's queue: the newest usable checkpoint (checkpointDir, then backupCheckpointDir, newest
/// write order first), else a full replay of the data files; then the records written after the checkpoint. Never
/// refuses to start because of bad content: what cannot be used is logged and reported (<see cref="FileChannelRecovery"/>).
/// </summary>
internal static class QueueRecovery
{
    public static async Task<(Deque<QueueEntry> Queue, long AppliedWriteOrder, FileChannelRecovery Report)> RunAsync(
        string channel, FileChannelOptions options, DataLog data, long startedAt, ILogger logger, TimeProvider clock, CancellationToken cancellationToken)
    {
        var truncations = data.Directories.SelectMany(d => d.Log.Recovery.Truncations).ToList();
        var dropped = new List<ReplayDrop>();
        var rejected = new List<string>();

        // 1. The newest checkpoint that verifies, from either directory.
        var candidates = new List<(SnapshotFileInfo File, bool Backup)>();
        candidates.AddRange(new SnapshotStore(options.CheckpointDir, logger, CheckpointFormat.FilePrefix).List().Select(f => (f, false)));
        if (options.UseDualCheckpoints && options.BackupCheckpointDir is { } backupDir)
        {
            candidates.AddRange(new SnapshotStore(backupDir, logger, CheckpointFormat.FilePrefix).List().Select(f => (f, true)));
        }
        candidates.Sort((a, b) => a.File.Zxid != b.File.Zxid ? b.File.Zxid.CompareTo(a.File.Zxid) : a.Backup.CompareTo(b.Backup));
        byte[]? checkpoint = null;
        long checkpointEvents = 0;
        long writeOrder = 0;
        var usedBackup = false;
        string? source = null;
        foreach (var (file, backup) in candidates)
        {
            var (body, events, problem) = await TryReadAsync(file, cancellationToken).ConfigureAwait(false);
            if (body is null)
            {
                rejected.Add($"{file.Path}: {problem}");
                FileChannelLogEvents.CheckpointRejected(logger, channel, file.Path, problem!);
                continue;
            }
            checkpoint = body;
            checkpointEvents = events;
            writeOrder = file.Zxid;
            usedBackup = backup;
            source = (backup ? "backup checkpoint " : "checkpoint ") + file.Path;
            if (backup)
            {
                // Candidates are newest first with the checkpoint directory's before the backup's: reaching a backup
                // file means the checkpoint directory had nothing as new that verifies.
                FileChannelLogEvents.BackupCheckpointUsed(logger, channel, file.Path, writeOrder, options.CheckpointDir);
            }
            break;
        }

        var fullReplay = false;
        if (checkpoint is null)
        {
            if (candidates.Count > 0 || data.LastWriteOrder > 0)
            {
                fullReplay = true;
                var reason = candidates.Count > 0
                    ? $"{candidates.Count} checkpoint file(s) rejected: {string.Join("; ", rejected)}"
                    : $"no checkpoint file in {options.CheckpointDir}{(options.UseDualCheckpoints ? " or " + options.BackupCheckpointDir : "")}";
                FileChannelLogEvents.FullReplay(logger, channel, reason);
                source = "full replay of the data files (" + reason + ")";
            }
            else
            {
                source = "new channel (empty directories)";
            }
        }

        // 2. The checkpointed queue, minus events whose data file is gone or was cut shorter by recovery.
        var ends = data.SegmentEnds();
        var queue = new Deque<QueueEntry>((int)Math.Max(1024, checkpointEvents + 1024));
        var missing = new Dictionary<long, int>();
        if (checkpoint is not null)
        {
            CheckpointFormat.ReadInto(checkpoint, queue, ends, missing);
        }
        foreach (var (segment, count) in missing)
        {
            var reason = ends.ContainsKey(segment)
                ? "the data file's recovery cut it off (see the truncation logged for that file)"
                : "the data file no longer exists (deleted after a newer checkpoint, so these events were taken, or removed by hand)";
            Drop(logger, channel, dropped, $"{count} event(s) of the checkpoint", $"log.{Zxid.ToHex(segment)}", reason);
        }

        // 3. Replay what was written after the checkpoint, in write order.
        var replayStart = clock.GetTimestamp();
        long records = 0, puts = 0, takes = 0;
        var pending = new Dictionary<long, List<(byte Kind, EventPointer[] Items)>>();
        var removed = new HashSet<EventPointer>();
        foreach (var (directory, record) in data.ReadFrom(writeOrder + 1))
        {
            records++;
            var where = $"{Path.Combine(data.Directories[directory].Path, "log." + Zxid.ToHex(record.Position.SegmentStartZxid))}@{record.Position.Offset}";
            if (!TryParse(record, out var kind, out var flags, out var transactionId, out var items, out var problem))
            {
                Drop(logger, channel, dropped, $"record {Zxid.Format(record.Zxid)}", where, problem!);
                continue;
            }
            if ((flags & DataRecord.FlagCommit) == 0)
            {
                if (transactionId == record.Zxid)
                {
                    pending[transactionId] = [(kind, items)];
                }
                else if (pending.TryGetValue(transactionId, out var parts))
                {
                    parts.Add((kind, items));
                }
                else
                {
                    Drop(logger, channel, dropped, $"part of transaction {Zxid.Format(transactionId)} ({items.Length} items)", where, "its first records are missing");
                }
                continue;
            }
            List<(byte Kind, EventPointer[] Items)> complete;
            if (pending.Remove(transactionId, out var earlier))
            {
                earlier.Add((kind, items));
                complete = earlier;
            }
            else if (transactionId == record.Zxid)
            {
                complete = [(kind, items)];
            }
            else
            {
                Drop(logger, channel, dropped, $"end of transaction {Zxid.Format(transactionId)} ({items.Length} items)", where, "its first records are missing");
                continue;
            }
            foreach (var (partKind, partItems) in complete)
            {
                if (partKind == DataRecord.KindPut)
                {
                    puts += partItems.Length;
                    foreach (var pointer in partItems)
                    {
                        queue.AddLast(new QueueEntry(pointer, null, 0));
                    }
                }
                else
                {
                    takes += partItems.Length;
                    foreach (var pointer in partItems)
                    {
                        if (removed.Count == 0 && queue.Count > 0 && queue[0].Pointer == pointer)
                        {
                            queue.RemoveFirst();
                        }
                        else
                        {
                            removed.Add(pointer);
                        }
                    }
                }
            }
        }
        foreach (var (transactionId, parts) in pending)
        {
            Drop(logger, channel, dropped, $"incomplete transaction {Zxid.Format(transactionId)} ({parts.Sum(p => p.Items.Length)} items)",
                $"write order {Zxid.Format(transactionId)}", "its commit record is missing (the writer stopped between its records)");
        }
        if (removed.Count > 0)
        {
            var kept = new Deque<QueueEntry>(Math.Max(1024, queue.Count + 1024));
            for (var i = 0; i < queue.Count; i++)
            {
                if (!removed.Remove(queue[i].Pointer))
                {
                    kept.AddLast(queue[i]);
                }
            }
            queue = kept;
            if (removed.Count > 0)
            {
                Drop(logger, channel, dropped, $"{removed.Count} take(s) of events not in the channel", "the replayed take records",
                    "their puts were not restored (cut off by recovery, or before an older checkpoint used as a fallback); nothing to remove");
            }
        }
        var replayMs = (long)clock.GetElapsedTime(replayStart).TotalMilliseconds;
        data.AdvancePast(writeOrder);
        var applied = Math.Max(writeOrder, data.LastWriteOrder);
        var elapsedMs = (long)clock.GetElapsedTime(startedAt).TotalMilliseconds;
        var report = new FileChannelRecovery(source!, checkpoint is not null, usedBackup, fullReplay, writeOrder, checkpointEvents, rejected, records, puts, takes,
            truncations, dropped, queue.Count, elapsedMs, replayMs);
        FileChannelLogEvents.Opened(logger, channel, elapsedMs, queue.Count, source!, records, puts, takes, writeOrder + 1, replayMs);
        return (queue, applied, report);
    }

    private static void Drop(ILogger logger, string channel, List<ReplayDrop> dropped, string what, string where, string reason)
    {
        dropped.Add(new ReplayDrop(what, where, reason));
        FileChannelLogEvents.ReplayDropped(logger, channel, what, where, reason);
    }

    private static async Task<(byte[]? Body, long Events, string? Problem)> TryReadAsync(SnapshotFileInfo file, CancellationToken cancellationToken)
    {
        byte[]? body = null;
        try
        {
            await SnapshotStore.ReadFileAsync(file.Path, CheckpointFormat.FilePrefix, async (stream, info, ct) =>
            {
                body = new byte[stream.Length];
                await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageCorruptionException ex)
        {
            return (null, 0, ex.Message);
        }
        catch (IOException ex)
        {
            return (null, 0, $"unreadable: {ex.Message}");
        }
        return CheckpointFormat.TryValidate(body, file.Zxid, out var events, out var problem) ? (body, events, null) : (null, 0, problem);
    }

    /// <summary>Parses a data record (grammar on <see cref="DataRecord"/>) into its pointers: the events a PUT record
    /// holds, or the events a TAKE record names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryParse(LogRecord record, out byte kind, out byte flags, out long transactionId, out EventPointer[] items, out string? problem)
    {
        var span = record.Payload.Span;
        kind = flags = 0;
        transactionId = 0;
        items = [];
        problem = null;
        if (span.Length < DataRecord.HeaderBytes)
        {
            problem = $"payload of {span.Length} bytes is shorter than the {DataRecord.HeaderBytes}-byte record header";
            return false;
        }
        kind = span[0];
        flags = span[2];
        transactionId = BinaryPrimitives.ReadInt64BigEndian(span[4..]);
        var count = BinaryPrimitives.ReadInt32BigEndian(span[12..]);
        if (span[1] != DataRecord.Version)
        {
            problem = $"unsupported record version {span[1]} (this build reads version {DataRecord.Version})";
            return false;
        }
        if (count < 0)
        {
            problem = $"negative item count {count}";
            return false;
        }
        if (kind == DataRecord.KindTake)
        {
            if (span.Length != DataRecord.HeaderBytes + (long)count * DataRecord.PointerBytes)
            {
                problem = $"{count} pointers need {DataRecord.HeaderBytes + (long)count * DataRecord.PointerBytes} bytes, the payload has {span.Length}";
                return false;
            }
            items = new EventPointer[count];
            for (var i = 0; i < count; i++)
            {
                items[i] = DataRecord.ReadPointer(span[(DataRecord.HeaderBytes + i * DataRecord.PointerBytes)..]);
            }
            return true;
        }
        if (kind != DataRecord.KindPut)
        {
            problem = $"unknown record kind {kind} (allowed: {DataRecord.KindPut} put, {DataRecord.KindTake} take)";
            return false;
        }
        if (count > (span.Length - DataRecord.HeaderBytes) / (DataRecord.EventPrefixBytes + 8))
        {
            problem = $"{count} events cannot fit a payload of {span.Length} bytes";
            return false;
        }
        items = new EventPointer[count];
        var position = DataRecord.HeaderBytes;
        var baseOffset = record.Position.Offset + TxnLog.RecordHeaderBytes;
        for (var i = 0; i < count; i++)
        {
            var size = position + DataRecord.EventPrefixBytes <= span.Length ? DataRecord.ClaimedSize(span[position..]) : -1;
            if (size < 0 || position + size > span.Length)
            {
                problem = $"event {i} at payload offset {position} runs past the end of the record";
                return false;
            }
            items[i] = new EventPointer(record.Position.SegmentStartZxid, (int)(baseOffset + position));
            position += size;
        }
        if (position != span.Length)
        {
            problem = $"{span.Length - position} bytes after the last of {count} events";
            return false;
        }
        return true;
    }
}
