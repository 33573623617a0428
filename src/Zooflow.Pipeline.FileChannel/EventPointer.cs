namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// Where an event's bytes lie: the data file (named <c>log.&lt;hex&gt;</c> after the write order of its first record,
/// unique across all data directories) and the offset of the event's encoding in it. 12 bytes; the in-memory queue
/// holds these instead of events, as Flume's <c>FlumeEventPointer</c>.
/// </summary>
/// <param name="Segment">The data file's first write order (its name).</param>
/// <param name="Offset">Byte offset of the event (its checksum field) in the file.</param>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 4)]
internal readonly record struct EventPointer(long Segment, int Offset)
{
    /// <inheritdoc />
    public override string ToString() => $"log.{Segment:x}@{Offset}";
}

/// <summary>One queue slot: the pointer, and the event itself while it is held in the memory cache (24 bytes: a
/// million-event queue is 24 MB).</summary>
/// <param name="Pointer">Where the event is on disk.</param>
/// <param name="Cached">The event, or null when it must be read back from its data file.</param>
/// <param name="CachedBytes">What the cached event counts against the cache budget (0 when not cached).</param>
internal readonly record struct QueueEntry(EventPointer Pointer, Zooflow.Pipeline.Abstractions.Event? Cached, int CachedBytes);
