namespace Zooflow.Storage;

/// <summary>Outcome of <see cref="StorageRetention.Purge"/>.</summary>
/// <param name="DeletedSnapshots">Snapshot files removed.</param>
/// <param name="DeletedLogSegments">Log segment files removed.</param>
/// <param name="OldestKeptZxid">Zxid of the oldest retained snapshot, null when there is none (nothing deleted).</param>
public sealed record PurgeResult(IReadOnlyList<string> DeletedSnapshots, IReadOnlyList<string> DeletedLogSegments, long? OldestKeptZxid);

/// <summary>
/// ZooKeeper's retention rule (PurgeTxnLog / autopurge): keep the newest <c>autopurge.snapRetainCount</c> snapshots
/// (at least 3), delete older snapshots, and delete the log segments that hold only transactions older than the oldest
/// kept snapshot, keeping the segment that contains that snapshot's zxid.
/// </summary>
/// <remarks>Run it from one place at a time (the server's purge task or the <c>zooflow purge</c> command).</remarks>
public static class StorageRetention
{
    /// <summary>Applies the rule to a snapshot store and an open log.</summary>
    public static PurgeResult Purge(SnapshotStore snapshots, TxnLog log, int snapRetainCount)
    {
        ArgumentNullException.ThrowIfNull(snapshots);
        ArgumentNullException.ThrowIfNull(log);
        var result = snapshots.Purge(snapRetainCount);
        var segments = result.OldestKeptZxid is { } zxid ? log.PurgeSegmentsBefore(zxid) : [];
        return new PurgeResult(result.Deleted, segments, result.OldestKeptZxid);
    }
}
