using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Zooflow.Common;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// The checkpoint: the channel's queue at one write order, so that a restart reads one file and replays only the records
/// written after it.
/// </summary>
/// <remarks>
/// <para>Files <c>checkpoint.&lt;hex writeOrder&gt;</c> in checkpointDir (and backupCheckpointDir with dual checkpoints),
/// written through <see cref="SnapshotStore"/>: temp file, fsync, rename, directory fsync; its container adds the header
/// (magic "ZFSN", version 1, the write order) and a trailer with the body length and a CRC-32C over the whole file, checked
/// before the body is used. The body (integers big-endian):</para>
/// <code>
/// body    := magic:u32 = 0x5A46434B ("ZFCK") version:i32 = 1 writeOrder:i64 eventCount:i64 runCount:i32 run{runCount}
///            writeOrder = the write order in the file name: every record up to it is reflected, none after it
///            eventCount = the sum of the runs' counts
/// run     := segment:i64 count:i32 offset:i32{count}
///            consecutive queue entries in one data file; segment = the data file's first write order (its name)
/// </code>
/// <para>The queue is listed head first: first the events of take transactions that were open at the checkpoint (they
/// are not taken until their transaction commits, so a crash brings them back), then the queue. That is why there is no
/// separate "inflight" file as in Flume: puts reach the data files only when they commit (nothing uncommitted is on disk
/// to replay or skip), and open takes are part of the checkpointed queue. A 1,000,000-event queue in one data file takes
/// about 4 MB. Encoding and decoding are compiled fully optimized at once (a restart runs them once over a million
/// entries, long before tiered compilation would promote them).</para>
/// </remarks>
internal static class CheckpointFormat
{
    /// <summary>The checkpoint files' name prefix.</summary>
    public const string FilePrefix = "checkpoint.";

    /// <summary>"ZFCK".</summary>
    public const uint Magic = 0x5A46434B;

    public const int Version = 1;

    private const int HeaderBytes = 28;

    /// <summary>Encodes <paramref name="pointers"/> (head first) at <paramref name="writeOrder"/> into <paramref name="writer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(PooledBufferWriter writer, long writeOrder, ReadOnlySpan<EventPointer> pointers)
    {
        var runs = 0;
        for (var i = 0; i < pointers.Length; i++)
        {
            if (i == 0 || pointers[i].Segment != pointers[i - 1].Segment)
            {
                runs++;
            }
        }
        var header = writer.GetSpan(HeaderBytes);
        BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], Version);
        BinaryPrimitives.WriteInt64BigEndian(header[8..], writeOrder);
        BinaryPrimitives.WriteInt64BigEndian(header[16..], pointers.Length);
        BinaryPrimitives.WriteInt32BigEndian(header[24..], runs);
        writer.Advance(HeaderBytes);
        var start = 0;
        while (start < pointers.Length)
        {
            var end = start + 1;
            while (end < pointers.Length && pointers[end].Segment == pointers[start].Segment)
            {
                end++;
            }
            var span = writer.GetSpan(12 + 4 * (end - start));
            BinaryPrimitives.WriteInt64BigEndian(span, pointers[start].Segment);
            BinaryPrimitives.WriteInt32BigEndian(span[8..], end - start);
            for (var i = start; i < end; i++)
            {
                BinaryPrimitives.WriteInt32BigEndian(span[(12 + 4 * (i - start))..], pointers[i].Offset);
            }
            writer.Advance(12 + 4 * (end - start));
            start = end;
        }
    }

    /// <summary>
    /// Checks a checkpoint body's structure (header, every run inside the body, counts adding up). Returns false with
    /// <paramref name="problem"/> when it is not a valid version-1 checkpoint for <paramref name="expectedWriteOrder"/>
    /// (the write order in its file name).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryValidate(ReadOnlySpan<byte> body, long expectedWriteOrder, out long eventCount, out string? problem)
    {
        eventCount = 0;
        problem = null;
        if (body.Length < HeaderBytes)
        {
            problem = $"body is {body.Length} bytes, shorter than the {HeaderBytes}-byte checkpoint header";
            return false;
        }
        var magic = BinaryPrimitives.ReadUInt32BigEndian(body);
        if (magic != Magic)
        {
            problem = $"bad checkpoint magic 0x{magic:x8} (expected 0x{Magic:x8} \"ZFCK\")";
            return false;
        }
        var version = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
        if (version != Version)
        {
            problem = $"unsupported checkpoint version {version} (this build reads version {Version})";
            return false;
        }
        var writeOrder = BinaryPrimitives.ReadInt64BigEndian(body[8..]);
        if (writeOrder != expectedWriteOrder)
        {
            problem = $"write order {writeOrder} in the body differs from the file name's {expectedWriteOrder}";
            return false;
        }
        var count = BinaryPrimitives.ReadInt64BigEndian(body[16..]);
        var runs = BinaryPrimitives.ReadInt32BigEndian(body[24..]);
        if (count < 0 || count > int.MaxValue || runs < 0 || runs > count)
        {
            problem = $"event count {count} / run count {runs} are impossible";
            return false;
        }
        long position = HeaderBytes;
        long filled = 0;
        for (var r = 0; r < runs; r++)
        {
            if (position + 12 > body.Length)
            {
                problem = $"run {r} starts past the end of the body (offset {position})";
                return false;
            }
            var n = BinaryPrimitives.ReadInt32BigEndian(body[(int)(position + 8)..]);
            if (n <= 0 || filled + n > count || position + 12 + 4L * n > body.Length)
            {
                problem = $"run {r} of {n} events does not fit (offset {position})";
                return false;
            }
            filled += n;
            position += 12 + 4L * n;
        }
        if (filled != count || position != body.Length)
        {
            problem = $"runs hold {filled} events in {position} bytes; the header says {count} events in {body.Length} bytes";
            return false;
        }
        eventCount = count;
        return true;
    }

    /// <summary>
    /// Appends the events of a body that passed <see cref="TryValidate"/> to <paramref name="queue"/>, head first, without
    /// an intermediate array (a million entries at start-up). A pointer past the end of its data file's durable records
    /// (<paramref name="segmentEnds"/>; the file gone or cut by recovery) is counted in <paramref name="missing"/> instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReadInto(ReadOnlySpan<byte> body, Deque<QueueEntry> queue, Dictionary<long, long> segmentEnds, Dictionary<long, int> missing)
    {
        var runs = BinaryPrimitives.ReadInt32BigEndian(body[24..]);
        var position = HeaderBytes;
        for (var r = 0; r < runs; r++)
        {
            var segment = BinaryPrimitives.ReadInt64BigEndian(body[position..]);
            var n = BinaryPrimitives.ReadInt32BigEndian(body[(position + 8)..]);
            position += 12;
            var end = segmentEnds.GetValueOrDefault(segment, -1);
            for (var i = 0; i < n; i++, position += 4)
            {
                var offset = BinaryPrimitives.ReadInt32BigEndian(body[position..]);
                if (offset + DataRecord.EventPrefixBytes <= end)
                {
                    queue.AddLast(new QueueEntry(new EventPointer(segment, offset), null, 0));
                }
                else
                {
                    missing[segment] = missing.GetValueOrDefault(segment) + 1;
                }
            }
        }
    }
}
