using Microsoft.Extensions.Logging;

namespace Zooflow.Storage;

/// <summary>Start-up verification and repair of the segments (see the format and recovery rules on <see cref="TxnLog"/>).</summary>
public sealed partial class TxnLog
{
    private static (List<SegmentState> Segments, LogRecoveryReport Report) Recover(string directory, bool setAsideAfterCorruption, ILogger logger)
    {
        var segments = new List<SegmentState>();
        var truncations = new List<LogTruncation>();
        long previous = 0;
        long records = 0;
        string? stopCause = null;
        foreach (var (start, path) in ListSegmentFiles(directory))
        {
            if (stopCause is not null)
            {
                truncations.Add(SetAside(path, stopCause, logger));
                continue;
            }

            string? problem = null;
            long badOffset = 0;
            long? badZxid = null;
            long droppedBytes = 0;
            long count = 0;
            var last = previous;
            long validEnd;
            using (var cursor = new SegmentCursor(path))
            {
                var headerProblem = cursor.ReadFileHeader();
                if (headerProblem is not null)
                {
                    var nonZeroEnd = cursor.FindEndOfNonZero(0);
                    cursor.Dispose();
                    stopCause = setAsideAfterCorruption ? $"it follows {Path.GetFileName(path)}, whose header is invalid" : null;
                    if (nonZeroEnd < 0)
                    {
                        File.Delete(path);
                        truncations.Add(Report(logger, new LogTruncation(path, 0, null, 0, $"invalid header ({headerProblem}); the file holds only zeros", "deleted")));
                    }
                    else
                    {
                        truncations.Add(SetAside(path, $"invalid header: {headerProblem}", logger));
                    }

                    continue;
                }

                while (true)
                {
                    var status = cursor.Next(last);
                    if (status == CursorStatus.Record && count == 0 && cursor.Zxid != start)
                    {
                        problem = $"first record zxid {Zxid.Format(cursor.Zxid)} differs from the file name's {Zxid.Format(start)}";
                        badOffset = cursor.RecordOffset;
                        badZxid = cursor.Zxid;
                        break;
                    }

                    if (status == CursorStatus.Record)
                    {
                        count++;
                        last = cursor.Zxid;
                        continue;
                    }

                    if (status == CursorStatus.Bad)
                    {
                        problem = cursor.Problem;
                        badOffset = cursor.RecordOffset;
                        badZxid = cursor.Zxid == 0 ? null : cursor.Zxid;
                        break;
                    }

                    // End of records: anything non-zero after it is a record whose header was lost, or garbage.
                    var garbageEnd = cursor.FindEndOfNonZero(cursor.Position);
                    if (garbageEnd > 0)
                    {
                        problem = $"non-zero bytes after the end of records (up to offset {garbageEnd}): a record whose header was lost, or garbage";
                        badOffset = cursor.Position;
                    }

                    break;
                }

                validEnd = problem is null ? cursor.Position : badOffset;
                if (problem is not null)
                {
                    var nonZeroEnd = cursor.FindEndOfNonZero(badOffset);
                    droppedBytes = Math.Max(0, nonZeroEnd - badOffset);
                }
            }

            if (problem is not null)
            {
                stopCause = setAsideAfterCorruption ? $"it follows the corruption at {Path.GetFileName(path)}:{badOffset}" : null;
                if (count == 0)
                {
                    File.Delete(path);
                    truncations.Add(Report(logger, new LogTruncation(path, badOffset, badZxid, droppedBytes, problem, "deleted (no valid record)")));
                }
                else
                {
                    using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
                    {
                        RandomAccess.SetLength(handle, validEnd);
                        RandomAccess.FlushToDisk(handle);
                    }

                    truncations.Add(Report(logger, new LogTruncation(path, badOffset, badZxid, droppedBytes, problem, "truncated")));
                }
            }
            else if (count == 0)
            {
                // Created (named after the zxid about to be written) but the process died before a record was durable.
                File.Delete(path);
                truncations.Add(Report(logger, new LogTruncation(path, LogFormat.FileHeaderBytes, null, 0, "segment holds no records", "deleted")));
            }

            if (count > 0)
            {
                segments.Add(new SegmentState(path, start) { LastZxid = last, RecordCount = count, EndOffset = validEnd });
                previous = last;
                records += count;
            }
        }

        if (truncations.Count > 0)
        {
            DirectorySync.Fsync(directory);
        }

        var report = new LogRecoveryReport(truncations, segments.Count, records, segments.Count == 0 ? 0 : segments[0].StartZxid, previous);
        return (segments, report);
    }

    private static LogTruncation SetAside(string path, string reason, ILogger logger)
    {
        var length = new FileInfo(path).Length;
        var target = path + ".dropped";
        for (var n = 1; File.Exists(target); n++)
        {
            target = $"{path}.dropped.{n}";
        }

        File.Move(path, target);
        StorageLogEvents.SegmentSetAside(logger, path, length, Path.GetFileName(target), reason);
        return new LogTruncation(path, 0, null, length, reason, $"set aside as {Path.GetFileName(target)}");
    }

    private static LogTruncation Report(ILogger logger, LogTruncation truncation)
    {
        StorageLogEvents.TailTruncated(logger, truncation.FilePath, truncation.Offset, truncation.DroppedBytes,
            truncation.Zxid is { } z ? Zxid.Format(z) : "unreadable", truncation.Reason);
        return truncation;
    }
}
