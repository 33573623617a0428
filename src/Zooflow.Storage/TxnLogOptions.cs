using Zooflow.Common;

namespace Zooflow.Storage;

/// <summary>Validated settings of a <see cref="TxnLog"/>. Immutable; the server maps zoo.cfg keys onto it.</summary>
public sealed record TxnLogOptions
{
    /// <summary>ZooKeeper's default <c>preAllocSize</c> (64 MiB): few extents, and a full disk shows up at segment creation.</summary>
    public const long DefaultPreallocateBytes = 64L * 1024 * 1024;

    /// <summary>The directory holding <c>log.*</c> files (zoo.cfg <c>dataLogDir</c>, defaulting to <c>dataDir</c>).</summary>
    public required string Directory { get; init; }

    /// <summary>
    /// fsync every batch before acknowledging it (zoo.cfg <c>forceSync</c>, default true). <b>false is unsafe</b>: an
    /// acknowledged write can be lost on power failure or kernel crash (not on a process crash). Only for tests/benchmarks.
    /// </summary>
    public bool ForceSync { get; init; } = true;

    /// <summary>Size reserved (fallocate) when a segment is created. 0 disables preallocation.</summary>
    public long PreallocateBytes { get; init; } = DefaultPreallocateBytes;

    /// <summary>
    /// A new segment starts before the next batch once the active one holds this many bytes. Keep it at or below
    /// <see cref="PreallocateBytes"/>: space is reserved once, at creation, so bytes beyond it grow the file as it is written.
    /// </summary>
    public long SegmentBytesMax { get; init; } = DefaultPreallocateBytes;

    /// <summary>Most records per write+fsync; ZooKeeper SyncRequestProcessor's <c>maxBatchSize</c> default is 1000.</summary>
    public int BatchRecordsMax { get; init; } = 1000;

    /// <summary>Most bytes per write+fsync (a single larger record still goes alone).</summary>
    public int BatchBytesMax { get; init; } = 8 * 1024 * 1024;

    /// <summary>Appends accepted but not yet durable; beyond it <see cref="TxnLog.AppendAsync"/> throws (caller bug: its own queue must be bounded).</summary>
    public int PendingRecordsMax { get; init; } = 100_000;

    /// <summary>Largest payload accepted. Default 4 MiB: above ZooKeeper's 1 MiB <c>jute.maxbuffer</c> with room for multi headers.</summary>
    public int RecordBytesMax { get; init; } = 4 * 1024 * 1024;

    /// <summary>Written into each segment header (ZooKeeper's "dbid", always 0 there). Not checked on read.</summary>
    public long DatabaseId { get; init; }

    /// <summary>
    /// Flush with <c>fdatasync</c> instead of <c>fsync</c> (default false): the data and the metadata needed to read it
    /// back (the file size) are made durable, timestamps are not. Together with <see cref="ZeroFillPreallocation"/> a
    /// flush writes only the data pages, which roughly doubles the commit rate on ext4 (measured in docs/benchmarks.md).
    /// </summary>
    public bool UseDataSync { get; init; }

    /// <summary>
    /// Preallocate by writing zeros, <see cref="PreallocateBytes"/> at a time ahead of the write offset, instead of one
    /// <c>fallocate</c> at segment creation (default false). A fallocated extent is "unwritten" on ext4/xfs, so the first
    /// write into each block changes metadata and every flush must commit the journal; blocks that already hold zeros are
    /// overwritten in place. Flume's file channel preallocates the same way (1 MiB of OP_EOF at a time). Costs one extra
    /// write of each byte of the segment; keep <see cref="PreallocateBytes"/> small (1 MiB) so each step is short.
    /// </summary>
    public bool ZeroFillPreallocation { get; init; }

    /// <summary>
    /// What recovery does with the segments after a corrupt or torn record (default true: set them aside as
    /// <c>log.&lt;hex&gt;.dropped</c>, because a replicated log must stay gap-free). false keeps them: the damaged segment is
    /// truncated at the bad record and the later segments stay in the log (for logs of independent records, such as the
    /// file channel's, where every good record is worth keeping).
    /// </summary>
    public bool SetAsideAfterCorruption { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            ThrowHelper.ThrowArgument(nameof(Directory), "TxnLogOptions.Directory must be set");
        }

        Check(PreallocateBytes >= 0, nameof(PreallocateBytes), PreallocateBytes, "must not be negative");
        Check(SegmentBytesMax >= LogFormat.FileHeaderBytes, nameof(SegmentBytesMax), SegmentBytesMax, "must be at least 16");
        Check(BatchRecordsMax >= 1, nameof(BatchRecordsMax), BatchRecordsMax, "must be positive");
        Check(RecordBytesMax is >= 0 and <= LogFormat.RecordBytesLimit, nameof(RecordBytesMax), RecordBytesMax, $"must be within 0..{LogFormat.RecordBytesLimit}");
        Check(BatchBytesMax >= RecordBytesMax + LogFormat.RecordHeaderBytes, nameof(BatchBytesMax), BatchBytesMax, "must hold at least one record of RecordBytesMax");
        Check(PendingRecordsMax >= BatchRecordsMax, nameof(PendingRecordsMax), PendingRecordsMax, "must be at least BatchRecordsMax");
    }

    private static void Check(bool ok, string name, object value, string expectation)
    {
        if (!ok)
        {
            ThrowHelper.ThrowArgumentOutOfRange("TxnLogOptions." + name, value, expectation);
        }
    }
}
