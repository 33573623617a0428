using Microsoft.Extensions.Logging;

namespace Zooflow.Storage;

/// <summary>Fixed event ids of the storage area (3000-3099) and the source-generated log methods.</summary>
/// <remarks>Messages never contain payload bytes (convention 8).</remarks>
internal static partial class StorageLogEvents
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "Transaction log opened in {Directory}: {SegmentCount} segment(s), {RecordCount} record(s), zxids {FirstZxid}..{LastZxid}")]
    public static partial void LogOpened(ILogger logger, string directory, int segmentCount, long recordCount, string firstZxid, string lastZxid);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Transaction log recovery truncated {File} at offset {Offset}: dropped {DroppedBytes} byte(s) (record zxid {Zxid}): {Reason}")]
    public static partial void TailTruncated(ILogger logger, string file, long offset, long droppedBytes, string zxid, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "Transaction log recovery set aside {File} ({Bytes} byte(s)) as {NewName}: {Reason}")]
    public static partial void SegmentSetAside(ILogger logger, string file, long bytes, string newName, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
        Message = "Transaction log write failed: {Message}")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string message);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information,
        Message = "Transaction log truncated after zxid {Zxid}: {DroppedRecords} record(s) removed")]
    public static partial void TruncatedAfter(ILogger logger, string zxid, long droppedRecords);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Purged transaction log segment {File}")]
    public static partial void SegmentPurged(ILogger logger, string file);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information,
        Message = "Snapshot {File} written: zxid {Zxid}, {Bytes} body byte(s)")]
    public static partial void SnapshotWritten(ILogger logger, string file, string zxid, long bytes);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning,
        Message = "Snapshot {File} rejected, falling back to an older one: {Reason}")]
    public static partial void SnapshotRejected(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Purged snapshot {File}")]
    public static partial void SnapshotPurged(ILogger logger, string file);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information, Message = "Removed unfinished temporary snapshot {File}")]
    public static partial void TempRemoved(ILogger logger, string file);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Information, Message = "Snapshot {File} loaded: zxid {Zxid}")]
    public static partial void SnapshotLoaded(ILogger logger, string file, string zxid);
}
