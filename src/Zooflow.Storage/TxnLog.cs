using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Zooflow.Storage;

/// <summary>
/// A segmented, checksummed write-ahead log of opaque transaction payloads keyed by strictly increasing zxids, with
/// group-commit fsync and torn-tail recovery. Knows nothing about ZooKeeper records.
/// </summary>
/// <remarks>
/// <para><b>On-disk format</b> (all integers big-endian, as ZooKeeper's Java DataOutput writes them):</para>
/// <code>
/// directory     := segment*                         one file per segment, named "log." + lower-case hex of the
///                                                   zxid of its first record (ZooKeeper's naming, e.g. log.100000001)
/// segment       := fileHeader record* endOfRecords
/// fileHeader    := magic:u32 = 0x5A464C47 ("ZFLG")  version:i32 = 1  databaseId:i64 (reserved, written, not checked)
/// record        := crc:u32 length:i32 zxid:i64 payload:byte[length]
///                  crc    = CRC-32C (Castagnoli) over the 12 bytes of length+zxid followed by the payload
///                  length = 0 .. 268435456 (format limit; writers are limited further by TxnLogOptions.RecordBytesMax)
///                  zxid   &gt; 0, strictly greater than the previous record's zxid (also across segments);
///                           the first record's zxid equals the zxid in the file name
/// endOfRecords  := EOF | zeroHeader zeroPadding     a 16-byte all-zero header (impossible for a record, whose zxid
///                                                   is &gt; 0) followed by zeros up to EOF: space preallocated with
///                                                   fallocate in PreallocateBytes steps (ZooKeeper's preAllocSize)
/// </code>
/// <para><b>Writing.</b> <see cref="AppendAsync"/> only enqueues; one writer thread takes every queued record (at most
/// <see cref="TxnLogOptions.BatchRecordsMax"/> / <see cref="TxnLogOptions.BatchBytesMax"/>), writes them with one
/// <c>pwrite</c>, fsyncs once, then completes all their tasks. So the log flushes when the queue drains or the batch limit
/// is hit, exactly as ZooKeeper's SyncRequestProcessor does; concurrent appenders share fsyncs. A new segment starts when
/// the active one exceeds <see cref="TxnLogOptions.SegmentBytesMax"/>, when <see cref="RollSegment"/> was called (at
/// snapshot time), on the first append after <see cref="Open"/>, and after a write failure.</para>
/// <para><b>Write failures</b> (ENOSPC, EIO): the whole batch and every append queued behind it fail with
/// <see cref="TxnLogWriteException"/> (file, offset, zxid range, OS error); the segment is truncated back to its last
/// durable record and closed, so the log stays readable and valid; the next append starts a new segment and succeeds once
/// the cause is gone. After a failure the next append may reuse the failed zxids (they were never durable).</para>
/// <para><b>Recovery</b> (<see cref="Open"/>): every segment is read and verified. At the first torn or corrupt record the
/// segment is truncated there; later segments are renamed to <c>log.&lt;hex&gt;.dropped</c> (kept for inspection, ignored
/// afterwards) because the log must stay gap-free (unless <see cref="TxnLogOptions.SetAsideAfterCorruption"/> is false:
/// then they are kept and verified in turn); segments without records are deleted. Everything done is logged
/// (event 3001/3002) and returned in <see cref="Recovery"/>. Recovery never throws for bad content, so a damaged log can
/// never cause a crash loop; it throws only for I/O errors on the directory itself.</para>
/// <para><b>Thread-safety.</b> <see cref="AppendAsync"/>, <see cref="ReadFrom"/>, the properties and
/// <see cref="RollSegment"/> may be called concurrently. Readers see only durable (acknowledged) records as of the call to
/// <see cref="ReadFrom"/>. <see cref="TruncateAfter"/> requires that no append is pending; it and
/// <see cref="PurgeSegmentsBefore"/> require that no reader is iterating the affected segments (purging never deletes
/// the newest or the active segment, so appends may be pending meanwhile).</para>
/// <para><b>Positions.</b> <see cref="AppendLocatedAsync"/> and <see cref="ReadFrom"/> report where a record lies
/// (<see cref="LogPosition"/>: the segment's first zxid and the record's offset), so a caller can read one record back
/// directly; its payload starts <see cref="RecordHeaderBytes"/> after that offset.</para>
/// <para>The caller must also hold the directory's <see cref="DataDirectoryLock"/>; the log does not take it, because
/// <c>dataLogDir</c> and <c>dataDir</c> may be the same directory.</para>
/// </remarks>
public sealed partial class TxnLog : IAsyncDisposable, IDisposable
{
    private readonly TxnLogOptions _options;
    private readonly ILogger _logger;

    /// <summary>Guards the queue, zxid bookkeeping, the segment list and the lifecycle flags.</summary>
    private readonly object _gate = new();

    /// <summary>Guards the active segment's file handle; taken by the writer around I/O, never while holding _gate.</summary>
    private readonly object _io = new();

    private readonly List<SegmentState> _segments;

    /// <summary>Bytes of a record's header (crc, length, zxid) before its payload.</summary>
    public const int RecordHeaderBytes = LogFormat.RecordHeaderBytes;

    private TxnLog(TxnLogOptions options, ILogger logger, List<SegmentState> segments, LogRecoveryReport report)
    {
        _options = options;
        _logger = logger;
        _segments = segments;
        Recovery = report;
        _lastDurable = report.LastZxid;
        _lastAccepted = report.LastZxid;
        _queue = new Queue<PendingAppend>(Math.Min(options.PendingRecordsMax, 1024));
        _batchBuffer = new Zooflow.Common.PooledBufferWriter(64 * 1024, options.BatchBytesMax + LogFormat.RecordHeaderBytes);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "Zooflow TxnLog writer" };
        _writer.Start();
    }

    /// <summary>The directory holding the segments.</summary>
    public string Directory => _options.Directory;

    /// <summary>What <see cref="Open"/> found and repaired.</summary>
    public LogRecoveryReport Recovery { get; }

    /// <summary>Zxid of the last durable record, 0 when the log is empty.</summary>
    public long LastZxid
    {
        get
        {
            lock (_gate)
            {
                return _lastDurable;
            }
        }
    }

    /// <summary>Zxid of the first record still in the log (the oldest segment's name), 0 when empty.</summary>
    public long FirstZxid
    {
        get
        {
            lock (_gate)
            {
                return _segments.Count == 0 ? 0 : _segments[0].StartZxid;
            }
        }
    }

    /// <summary>The segments with their durable extent, oldest first.</summary>
    public IReadOnlyList<LogSegmentInfo> Segments
    {
        get
        {
            lock (_gate)
            {
                return _segments.ConvertAll(s => s.ToInfo());
            }
        }
    }

    /// <summary>
    /// Opens (creating if needed) the log in <see cref="TxnLogOptions.Directory"/>, verifying every segment and repairing
    /// a torn or corrupt tail as described in the type's remarks.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="IOException">The directory cannot be listed or a repair cannot be written.</exception>
    public static TxnLog Open(TxnLogOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        logger ??= NullLogger.Instance;
        var directory = Path.GetFullPath(options.Directory);
        options = options with { Directory = directory };
        System.IO.Directory.CreateDirectory(directory);
        var (segments, report) = Recover(directory, options.SetAsideAfterCorruption, logger);
        StorageLogEvents.LogOpened(logger, directory, report.SegmentCount, report.RecordCount, Zxid.Format(report.FirstZxid), Zxid.Format(report.LastZxid));
        return new TxnLog(options, logger, segments, report);
    }

    /// <summary>Lists the <c>log.&lt;hex&gt;</c> files of a directory, oldest first (other names are ignored).</summary>
    public static IReadOnlyList<(long StartZxid, string Path)> ListSegmentFiles(string directory)
    {
        var result = new List<(long, string)>();
        if (!System.IO.Directory.Exists(directory))
        {
            return result;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(directory, LogFormat.FilePrefix + "*"))
        {
            if (Zxid.TryParseFileName(Path.GetFileName(path), LogFormat.FilePrefix, out var zxid))
            {
                result.Add((zxid, path));
            }
        }

        result.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return result;
    }

    /// <summary>
    /// Reads the records of one segment file outside any open log, changing nothing on disk (for <c>zooflow log dump</c>).
    /// Yields every valid record, then throws <see cref="StorageCorruptionException"/> (file, offset, reason) if the file
    /// continues with a torn or corrupt record; stops quietly at the end of records.
    /// </summary>
    public static IEnumerable<LogRecord> ReadFile(string path)
    {
        using var cursor = new SegmentCursor(Path.GetFullPath(path));
        if (cursor.ReadFileHeader() is { } headerProblem)
        {
            throw new StorageCorruptionException($"Transaction log segment '{cursor.Path}' header is invalid: {headerProblem}", cursor.Path, 0);
        }

        var previous = 0L;
        while (true)
        {
            var status = cursor.Next(previous);
            if (status == CursorStatus.End)
            {
                yield break;
            }

            if (status == CursorStatus.Bad)
            {
                throw new StorageCorruptionException(
                    $"Transaction log segment '{cursor.Path}' record at offset {cursor.RecordOffset} is invalid: {cursor.Problem}", cursor.Path, cursor.RecordOffset);
            }

            previous = cursor.Zxid;
            yield return new LogRecord(cursor.Zxid, cursor.Payload.ToArray());
        }
    }

    /// <summary>
    /// Reads the durable records with zxid &gt;= <paramref name="fromZxid"/>, in zxid order, across segments. The set of
    /// records is fixed when this method is called; appends made while iterating are not seen.
    /// </summary>
    /// <exception cref="StorageCorruptionException">(while iterating) a record recovery accepted no longer verifies.</exception>
    public IEnumerable<LogRecord> ReadFrom(long fromZxid)
    {
        LogSegmentInfo[] view;
        lock (_gate)
        {
            view = _segments.ConvertAll(s => s.ToInfo()).ToArray();
        }

        return ReadSegments(view, fromZxid);
    }

    /// <summary>Makes the next append start a new segment (ZooKeeper rolls the log when it starts a snapshot).</summary>
    public void RollSegment()
    {
        lock (_gate)
        {
            _rollRequested = true;
        }
    }

    /// <summary>
    /// Removes every record with zxid &gt; <paramref name="zxid"/> (a follower told to TRUNC by a new leader). Durable on return.
    /// </summary>
    /// <returns>The number of records removed.</returns>
    /// <exception cref="InvalidOperationException">Appends are pending.</exception>
    public long TruncateAfter(long zxid)
    {
        lock (_io)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                if (_pending > 0)
                {
                    Zooflow.Common.ThrowHelper.ThrowInvalidOperation($"TruncateAfter({Zxid.Format(zxid)}) while {_pending} append(s) are pending; wait for them first");
                }

                if (zxid >= _lastDurable)
                {
                    return 0;
                }

                CloseActive(trimPadding: true);
                long dropped = 0;
                for (var i = _segments.Count - 1; i >= 0; i--)
                {
                    var segment = _segments[i];
                    if (segment.StartZxid > zxid)
                    {
                        dropped += segment.RecordCount;
                        File.Delete(segment.Path);
                        _segments.RemoveAt(i);
                        continue;
                    }

                    dropped += TruncateSegmentAfter(segment, zxid);
                    break;
                }

                DirectorySync.Fsync(_options.Directory);
                _lastDurable = _segments.Count == 0 ? 0 : _segments[^1].LastZxid;
                _lastAccepted = _lastDurable;
                StorageLogEvents.TruncatedAfter(_logger, Zxid.Format(zxid), dropped);
                return dropped;
            }
        }
    }

    /// <summary>
    /// Deletes the segments that hold only zxids older than <paramref name="zxid"/>, keeping the segment that contains it
    /// (ZooKeeper's PurgeTxnLog rule: keep the log file holding the oldest retained snapshot's zxid, and all later ones).
    /// The newest segment is never deleted.
    /// </summary>
    /// <returns>The deleted files.</returns>
    public IReadOnlyList<string> PurgeSegmentsBefore(long zxid)
    {
        lock (_io)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                var keepFrom = _segments.FindLastIndex(s => s.StartZxid <= zxid);
                if (keepFrom <= 0)
                {
                    return [];
                }

                var deleted = new List<string>(keepFrom);
                for (var i = 0; i < keepFrom; i++)
                {
                    File.Delete(_segments[i].Path);
                    deleted.Add(_segments[i].Path);
                    StorageLogEvents.SegmentPurged(_logger, _segments[i].Path);
                }

                _segments.RemoveRange(0, keepFrom);
                DirectorySync.Fsync(_options.Directory);
                return deleted;
            }
        }
    }

    private static IEnumerable<LogRecord> ReadSegments(LogSegmentInfo[] view, long fromZxid)
    {
        var start = 0;
        for (var i = 0; i < view.Length; i++)
        {
            if (view[i].StartZxid <= fromZxid)
            {
                start = i;
            }
        }

        for (var i = start; i < view.Length; i++)
        {
            var segment = view[i];
            if (segment.LastZxid < fromZxid)
            {
                continue;
            }

            using var cursor = new SegmentCursor(segment.Path, segment.EndOffset);
            if (cursor.ReadFileHeader() is { } headerProblem)
            {
                throw new StorageCorruptionException($"Transaction log segment '{segment.Path}' header is invalid: {headerProblem}", segment.Path, 0);
            }

            var previous = 0L;
            while (true)
            {
                var status = cursor.Next(previous);
                if (status == CursorStatus.End)
                {
                    if (cursor.Position != segment.EndOffset)
                    {
                        throw new StorageCorruptionException(
                            $"Transaction log segment '{segment.Path}' ends at offset {cursor.Position}, expected {segment.EndOffset}", segment.Path, cursor.Position);
                    }

                    break;
                }

                if (status == CursorStatus.Bad)
                {
                    throw new StorageCorruptionException(
                        $"Transaction log segment '{segment.Path}' record at offset {cursor.RecordOffset} is invalid: {cursor.Problem}", segment.Path, cursor.RecordOffset);
                }

                previous = cursor.Zxid;
                if (cursor.Zxid >= fromZxid)
                {
                    yield return new LogRecord(cursor.Zxid, cursor.Payload.ToArray()) { Position = new LogPosition(segment.StartZxid, cursor.RecordOffset) };
                }
            }
        }
    }

    private static long TruncateSegmentAfter(SegmentState segment, long zxid)
    {
        long keepEnd;
        long kept = 0;
        long last = 0;
        using (var cursor = new SegmentCursor(segment.Path, segment.EndOffset))
        {
            _ = cursor.ReadFileHeader();
            keepEnd = cursor.Position;
            while (cursor.Next(last) == CursorStatus.Record && cursor.Zxid <= zxid)
            {
                kept++;
                last = cursor.Zxid;
                keepEnd = cursor.Position;
            }
        }

        using (var handle = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            RandomAccess.SetLength(handle, keepEnd);
            RandomAccess.FlushToDisk(handle);
        }

        var dropped = segment.RecordCount - kept;
        segment.EndOffset = keepEnd;
        segment.RecordCount = kept;
        segment.LastZxid = last;
        return dropped;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_stopping, this);

    private void ThrowIfDisposedUnderIo() => ObjectDisposedException.ThrowIf(_closed, this);

    /// <summary>Mutable bookkeeping of one segment; fields change only under <c>_gate</c>.</summary>
    private sealed class SegmentState(string path, long startZxid)
    {
        public string Path { get; } = path;

        public long StartZxid { get; } = startZxid;

        public long LastZxid { get; set; }

        public long RecordCount { get; set; }

        public long EndOffset { get; set; } = LogFormat.FileHeaderBytes;

        public LogSegmentInfo ToInfo() => new(Path, StartZxid, LastZxid, RecordCount, EndOffset);
    }
}
