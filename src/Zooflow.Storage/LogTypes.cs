namespace Zooflow.Storage;

/// <summary>One transaction read back from the log. <see cref="Payload"/> is a fresh array owned by the caller.</summary>
/// <param name="Zxid">The record's zxid.</param>
/// <param name="Payload">The opaque bytes given to <see cref="TxnLog.AppendAsync"/>.</param>
public readonly record struct LogRecord(long Zxid, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Where the record lies (set by <see cref="TxnLog.ReadFrom"/>).</summary>
    public LogPosition Position { get; init; }
}

/// <summary>Where a record lies: the segment (named after its first zxid) and the offset of the record's header in it.
/// The payload starts <see cref="TxnLog.RecordHeaderBytes"/> after <paramref name="Offset"/>.</summary>
/// <param name="SegmentStartZxid">The first zxid of the segment, which is also its file name (<c>log.&lt;hex&gt;</c>).</param>
/// <param name="Offset">Byte offset of the record in the segment file.</param>
public readonly record struct LogPosition(long SegmentStartZxid, long Offset);

/// <summary>A segment file of the log as currently known (durable records only).</summary>
/// <param name="Path">Full path of <c>log.&lt;hex first zxid&gt;</c>.</param>
/// <param name="StartZxid">Zxid of its first record (the name).</param>
/// <param name="LastZxid">Zxid of its last durable record.</param>
/// <param name="RecordCount">Number of durable records.</param>
/// <param name="EndOffset">Offset just past the last durable record.</param>
public readonly record struct LogSegmentInfo(string Path, long StartZxid, long LastZxid, long RecordCount, long EndOffset);

/// <summary>Something recovery removed from the log: a torn/corrupt tail, an empty segment, or a whole segment set aside.</summary>
/// <param name="FilePath">The segment file concerned.</param>
/// <param name="Offset">Offset of the first dropped byte (the start of the bad record).</param>
/// <param name="Zxid">The zxid claimed by the bad record's header when that header was complete, else null.</param>
/// <param name="DroppedBytes">
/// Bytes dropped, counted from <paramref name="Offset"/> to the last non-zero byte of the file (trailing zero padding from
/// preallocation is not counted; it never held data).
/// </param>
/// <param name="Reason">What was wrong, e.g. "checksum mismatch: stored 0x..., computed 0x...".</param>
/// <param name="Action">"truncated", "deleted" (nothing of value) or "set aside as &lt;name&gt;" (kept for inspection).</param>
public sealed record LogTruncation(string FilePath, long Offset, long? Zxid, long DroppedBytes, string Reason, string Action)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{FilePath}@{Offset}: {Action}, {DroppedBytes} byte(s) dropped" +
        (Zxid is { } z ? $" (record zxid {Storage.Zxid.Format(z)})" : string.Empty) + $": {Reason}";
}

/// <summary>What <see cref="TxnLog.Open"/> found and repaired.</summary>
/// <param name="Truncations">Every repair, in file order; empty when the log was clean.</param>
/// <param name="SegmentCount">Segments kept.</param>
/// <param name="RecordCount">Valid records kept.</param>
/// <param name="FirstZxid">First kept zxid, 0 if none.</param>
/// <param name="LastZxid">Last kept zxid, 0 if none.</param>
public sealed record LogRecoveryReport(IReadOnlyList<LogTruncation> Truncations, int SegmentCount, long RecordCount, long FirstZxid, long LastZxid)
{
    /// <summary>True when recovery changed nothing on disk.</summary>
    public bool IsClean => Truncations.Count == 0;
}

/// <summary>Counters of the log's writer, for metrics and tests (never for decisions).</summary>
/// <param name="Appends">Records made durable.</param>
/// <param name="Batches">Batches written (one write call each).</param>
/// <param name="Fsyncs">fsync calls on segment files (0 with ForceSync off).</param>
/// <param name="FailedAppends">Appends completed with an exception.</param>
public readonly record struct TxnLogStatistics(long Appends, long Batches, long Fsyncs, long FailedAppends);
