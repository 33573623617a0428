using Microsoft.Extensions.Logging;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>Fixed event ids of the file channel (2900-2999). Messages never contain event bytes.</summary>
/// <remarks>docs/operations.md explains what each recovery line means and what to do about it.</remarks>
internal static partial class FileChannelLogEvents
{
    [LoggerMessage(EventId = 2901, Level = LogLevel.Information,
        Message = "File channel {Channel} open in {ElapsedMs} ms: {Events} events queued; restored from {Source}; replayed {Records} records ({Puts} puts, {Takes} takes) from write order {FromWriteOrder} in {ReplayMs} ms")]
    public static partial void Opened(ILogger logger, string channel, long elapsedMs, long events, string source, long records, long puts, long takes, long fromWriteOrder, long replayMs);

    [LoggerMessage(EventId = 2902, Level = LogLevel.Warning,
        Message = "File channel {Channel}: checkpoint {File} is not usable, trying the next: {Reason}")]
    public static partial void CheckpointRejected(ILogger logger, string channel, string file, string reason);

    [LoggerMessage(EventId = 2903, Level = LogLevel.Warning,
        Message = "File channel {Channel}: no usable checkpoint ({Reason}); replaying all data files")]
    public static partial void FullReplay(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 2904, Level = LogLevel.Warning,
        Message = "File channel {Channel}: using the backup checkpoint {File} (write order {WriteOrder}) because the checkpoint in {CheckpointDir} is not usable")]
    public static partial void BackupCheckpointUsed(ILogger logger, string channel, string file, long writeOrder, string checkpointDir);

    [LoggerMessage(EventId = 2905, Level = LogLevel.Warning,
        Message = "File channel {Channel}: replay dropped {What} at {Where}: {Reason}")]
    public static partial void ReplayDropped(ILogger logger, string channel, string what, string where, string reason);

    [LoggerMessage(EventId = 2906, Level = LogLevel.Debug,
        Message = "File channel {Channel}: checkpoint at write order {WriteOrder} written ({Events} events, {Bytes} bytes) in {ElapsedMs} ms")]
    public static partial void CheckpointWritten(ILogger logger, string channel, long writeOrder, long events, long bytes, long elapsedMs);

    [LoggerMessage(EventId = 2907, Level = LogLevel.Error,
        Message = "File channel {Channel}: writing the checkpoint failed; the previous one stays in use and data files are kept until one succeeds")]
    public static partial void CheckpointFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 2908, Level = LogLevel.Error,
        Message = "File channel {Channel}: writing the backup checkpoint to {Directory} failed")]
    public static partial void BackupCheckpointFailed(ILogger logger, string channel, string directory, Exception exception);

    [LoggerMessage(EventId = 2909, Level = LogLevel.Information,
        Message = "File channel {Channel}: deleted {Count} fully taken data file(s): {Files}")]
    public static partial void DataFilesDeleted(ILogger logger, string channel, int count, string files);

    [LoggerMessage(EventId = 2910, Level = LogLevel.Error,
        Message = "File channel {Channel}: event at {Pointer} cannot be read and is skipped: {Reason}")]
    public static partial void CorruptEventSkipped(ILogger logger, string channel, string pointer, string reason);

    [LoggerMessage(EventId = 2911, Level = LogLevel.Warning,
        Message = "File channel {Channel}: refusing puts: {Reason}; sources hold their input until space returns")]
    public static partial void SpaceLow(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 2912, Level = LogLevel.Information,
        Message = "File channel {Channel}: accepting puts again (free space is above minimumRequiredSpace)")]
    public static partial void SpaceRecovered(ILogger logger, string channel);

    [LoggerMessage(EventId = 2913, Level = LogLevel.Error,
        Message = "File channel {Channel}: a commit failed: {Reason}")]
    public static partial void CommitFailed(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 2914, Level = LogLevel.Information,
        Message = "File channel {Channel} closed with {Events} events queued (checkpoint at write order {WriteOrder})")]
    public static partial void Closed(ILogger logger, string channel, long events, long writeOrder);

    [LoggerMessage(EventId = 2915, Level = LogLevel.Error,
        Message = "File channel {Channel}: flushing the data files failed")]
    public static partial void SyncFailed(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 2916, Level = LogLevel.Warning,
        Message = "File channel {Channel}: {Events} events restored, more than its capacity {Capacity}; puts wait until sinks bring it below")]
    public static partial void OverCapacity(ILogger logger, string channel, long events, long capacity);
}
