namespace Zooflow.Consensus;

/// <summary>
/// The core's read-only view of what the driver has made durable: hard state, the log, and the newest snapshot's zxid.
/// The driver implements it over its own files; the core never writes through it (it asks for writes in
/// <see cref="Ready"/>).
/// </summary>
/// <remarks>
/// <para><b>Consistency.</b> After <see cref="ZabNode.Advance"/> returns, the storage must reflect every write of that
/// <see cref="Ready"/> (and all earlier ones): snapshot installed, log truncated, entries appended. The core reads only
/// entries it knows to be durable this way; entries still on their way to disk it serves from its own memory.</para>
/// <para><b>Log shape.</b> The log is a sequence of <see cref="LogEntry"/> with strictly increasing zxids. The driver
/// may purge a prefix (after a snapshot covers it), never anything after its applied zxid. The <i>base</i> of the log
/// is the zxid of the last purged record, or of the snapshot the log was reset to, or 0 for a log that was never
/// purged: every record after the base is present.</para>
/// <para><b>Ownership.</b> Entries returned belong to the caller; their <see cref="LogEntry.Data"/> must stay valid and
/// unchanged (the core may keep and forward it). Returning memory backed by pooled buffers is not allowed.</para>
/// <para><b>Errors.</b> An I/O failure is thrown as an exception and propagates out of the <see cref="ZabNode"/> call that
/// read; the node must then be discarded and recreated from storage (its in-memory state may be half updated). Purged
/// ranges are not errors: the Try methods return false.</para>
/// <para><b>Threading.</b> Called only from inside <see cref="ZabNode"/> methods, on the driver's thread.</para>
/// </remarks>
public interface IZabStorage
{
    /// <summary>The durable hard state; read once, when the node is constructed. <see cref="HardState.Initial"/> for a
    /// new server.</summary>
    HardState HardState { get; }

    /// <summary>The zxid of the last durable log record; if the log holds no record after the base, the base (the
    /// newest snapshot's zxid, or 0).</summary>
    long LastZxid { get; }

    /// <summary>
    /// Reads records with <paramref name="afterZxid"/> &lt; zxid ≤ <paramref name="toZxid"/>, ascending, at most
    /// <paramref name="maxCount"/>, appending them to <paramref name="output"/>.
    /// </summary>
    /// <returns>False, with nothing appended, when <paramref name="afterZxid"/> is below the log's base (records it asks
    /// for were purged). True otherwise, also when no record is in range.</returns>
    bool TryReadEntries(long afterZxid, long toZxid, int maxCount, List<LogEntry> output);

    /// <summary>
    /// The greatest zxid in the log that is ≤ <paramref name="zxid"/>; the base when no record after the base is ≤ it.
    /// </summary>
    /// <returns>False when <paramref name="zxid"/> is below the base (the answer was purged).</returns>
    bool TryGetZxidAtOrBefore(long zxid, out long found);
}
