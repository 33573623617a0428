using Microsoft.Extensions.Logging;

namespace Zooflow.Server.Persistence;

/// <summary>Log lines of the durable store (EventIds 36xx; the storage library itself logs 30xx).</summary>
internal static partial class PersistenceLog
{
    [LoggerMessage(3600, LogLevel.Information, "Recovery: loaded snapshot {Path} (zxid 0x{Zxid:x}, {Nodes} nodes, {Sessions} sessions)")]
    public static partial void SnapshotLoaded(ILogger logger, string path, long zxid, int nodes, int sessions);

    [LoggerMessage(3601, LogLevel.Warning, "Recovery: rejected snapshot {Path} (zxid 0x{Zxid:x}): {Reason}")]
    public static partial void SnapshotRejected(ILogger logger, string path, long zxid, string reason);

    [LoggerMessage(3602, LogLevel.Warning, "Recovery: transaction log repaired: {Repair}")]
    public static partial void LogRepaired(ILogger logger, string repair);

    [LoggerMessage(3603, LogLevel.Information, "Recovery: replayed {Count} transactions (zxid 0x{From:x}..0x{To:x}) in {Ms:F0} ms; {Nodes} nodes, {Sessions} sessions, last zxid 0x{Last:x}")]
    public static partial void Replayed(ILogger logger, long count, long from, long to, double ms, int nodes, int sessions, long last);

    [LoggerMessage(3604, LogLevel.Error, "Recovery: transaction 0x{Zxid:x} could not be decoded ({Problem}); it and {Dropped} later record(s) were dropped from the log")]
    public static partial void UndecodableTxn(ILogger logger, long zxid, string problem, long dropped);

    [LoggerMessage(3605, LogLevel.Information, "Snapshot {Path} written (zxid 0x{Zxid:x}, {Nodes} nodes) in {Ms:F0} ms without pausing writes")]
    public static partial void SnapshotTaken(ILogger logger, string path, long zxid, long nodes, double ms);

    [LoggerMessage(3606, LogLevel.Warning, "Snapshot failed; the log still holds every transaction, the next snapshot point retries")]
    public static partial void SnapshotFailed(ILogger logger, Exception exception);

    [LoggerMessage(3607, LogLevel.Information, "Autopurge: kept {Retain} snapshots (oldest zxid {Oldest}), deleted {Snapshots} snapshot(s) and {Segments} log segment(s)")]
    public static partial void Purged(ILogger logger, int retain, string oldest, int snapshots, int segments);

    [LoggerMessage(3608, LogLevel.Warning, "Autopurge failed")]
    public static partial void PurgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(3609, LogLevel.Warning, "forceSync=no: the transaction log is not fsynced; acknowledged writes can be lost on power failure or kernel crash (UNSAFE)")]
    public static partial void ForceSyncOff(ILogger logger);

    [LoggerMessage(3610, LogLevel.Information, "Data directory {DataDir}, transaction log directory {DataLogDir}, snapCount {SnapCount}, autopurge every {Hours} h keeping {Retain}")]
    public static partial void Opened(ILogger logger, string dataDir, string dataLogDir, int snapCount, int hours, int retain);

    [LoggerMessage(3611, LogLevel.Warning, "Recovery: finished an interrupted snapshot install at zxid 0x{Zxid:x}: removed the {Records} record(s) of the log it replaces")]
    public static partial void SnapInstallFinished(ILogger logger, long zxid, long records);

    [LoggerMessage(3612, LogLevel.Information, "Recovery (ensemble member): loaded snapshot at zxid 0x{Zxid:x}; the log holds up to 0x{LastZxid:x}, applied again once known committed")]
    public static partial void MemberRecovered(ILogger logger, long zxid, long lastZxid);
}
