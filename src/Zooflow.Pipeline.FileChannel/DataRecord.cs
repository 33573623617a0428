using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// Encoding of the records the file channel writes into its data files, and of the events inside them.
/// </summary>
/// <remarks>
/// <para>A data directory is a <see cref="TxnLog"/> (segments <c>log.&lt;hex&gt;</c>; file header magic "ZFLG",
/// version 1, and <c>databaseId</c> = <see cref="DatabaseId"/> marking a file channel data file; every record framed as
/// <c>crc32c length writeOrder payload</c>, grammar in <see cref="TxnLog"/>'s remarks). The write order is one counter for
/// all data directories of a channel, so a data file's name is unique across them. Only committed transactions are
/// written, at commit: a put transaction is one PUT record (its events), a take transaction one TAKE record (pointers to
/// the events it took), split into several records of at most <see cref="ChunkBytes"/> when large. Rolled-back
/// transactions write nothing, so there are no rollback records and no uncommitted data on disk. The payload (all
/// integers big-endian):</para>
/// <code>
/// payload   := kind:u8 version:u8 = 1 flags:u8 reserved:u8 = 0 transactionId:i64 count:i32 item{count}
///              kind  = 1 PUT (item = event) | 2 TAKE (item = pointer)
///              flags = bit 0 COMMIT: the last record of the transaction. The records of one transaction follow each
///                      other in one data directory; replay applies them only when the COMMIT record is there.
///              transactionId = write order of the transaction's first record
/// event     := crc:u32 length:i32 headerCount:i32 header{headerCount} bodyLength:i32 body:byte[bodyLength]
///              length = bytes after the length field (headerCount .. end of body)
///              crc    = CRC-32C over the length field and the length bytes after it: a take reads and checks one event
///                       on its own, without the record around it
/// header    := keyLength:i32 key:utf8[keyLength] valueLength:i32 value:utf8[valueLength]
/// pointer   := segment:i64 offset:i32          the data file (its first write order) and the event's offset in it
/// </code>
/// <para>An event pointer is the offset of the event's <c>crc</c> field: the record's offset +
/// <see cref="TxnLog.RecordHeaderBytes"/> + the event's position in the payload.</para>
/// </remarks>
internal static class DataRecord
{
    /// <summary>"ZFFC" and format version 1 in the segment header's databaseId field.</summary>
    public const long DatabaseId = 0x5A46_4643_0000_0001;

    public const byte KindPut = 1;
    public const byte KindTake = 2;
    public const byte Version = 1;
    public const byte FlagCommit = 1;

    /// <summary>kind, version, flags, reserved, transactionId, count.</summary>
    public const int HeaderBytes = 16;

    /// <summary>crc and length before each event's content.</summary>
    public const int EventPrefixBytes = 8;

    public const int PointerBytes = 12;

    /// <summary>A transaction's records are split at about this payload size, so one record never holds a whole large
    /// transaction (10,000 events of 64 KiB would be 640 MB): bounded write buffers, and replay reads bounded records.</summary>
    public const int ChunkBytes = 1024 * 1024;

    /// <summary>Largest record payload (one event of up to about this size is accepted).</summary>
    public const int RecordBytesMax = 32 * 1024 * 1024;

    /// <summary>Bytes the encoding of <paramref name="event"/> takes (prefix included).</summary>
    public static int EncodedSize(Event @event)
    {
        var size = EventPrefixBytes + 4 + 4 + @event.Body.Length;
        foreach (var (key, value) in @event.Headers)
        {
            size += 8 + Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
        }
        return size;
    }

    /// <summary>Writes the record header.</summary>
    public static void WriteHeader(Span<byte> destination, byte kind, byte flags, long transactionId, int count)
    {
        destination[0] = kind;
        destination[1] = Version;
        destination[2] = flags;
        destination[3] = 0;
        BinaryPrimitives.WriteInt64BigEndian(destination[4..], transactionId);
        BinaryPrimitives.WriteInt32BigEndian(destination[12..], count);
    }

    /// <summary>Encodes <paramref name="event"/> at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    public static int WriteEvent(Span<byte> destination, Event @event)
    {
        var position = EventPrefixBytes;
        BinaryPrimitives.WriteInt32BigEndian(destination[position..], @event.Headers.Count);
        position += 4;
        foreach (var (key, value) in @event.Headers)
        {
            position += WriteString(destination[position..], key);
            position += WriteString(destination[position..], value);
        }
        BinaryPrimitives.WriteInt32BigEndian(destination[position..], @event.Body.Length);
        position += 4;
        @event.Body.Span.CopyTo(destination[position..]);
        position += @event.Body.Length;
        BinaryPrimitives.WriteInt32BigEndian(destination[4..], position - EventPrefixBytes);
        BinaryPrimitives.WriteUInt32BigEndian(destination, Crc32C.Compute(destination[4..position]));
        return position;
    }

    /// <summary>Writes one pointer; returns <see cref="PointerBytes"/>.</summary>
    public static int WritePointer(Span<byte> destination, EventPointer pointer)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, pointer.Segment);
        BinaryPrimitives.WriteInt32BigEndian(destination[8..], pointer.Offset);
        return PointerBytes;
    }

    /// <summary>Reads one pointer.</summary>
    public static EventPointer ReadPointer(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadInt64BigEndian(source), BinaryPrimitives.ReadInt32BigEndian(source[8..]));

    /// <summary>The total size (prefix included) an event encoding claims, from its first 8 bytes; -1 when impossible.</summary>
    public static int ClaimedSize(ReadOnlySpan<byte> prefix)
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(prefix[4..]);
        return length < 8 || length > RecordBytesMax ? -1 : EventPrefixBytes + length;
    }

    /// <summary>
    /// Decodes the event whose complete encoding is <paramref name="source"/> (prefix included), checking its CRC and
    /// structure. Returns null with <paramref name="problem"/> set when the bytes are not a valid event.
    /// </summary>
    public static Event? TryReadEvent(ReadOnlySpan<byte> source, out string? problem)
    {
        problem = null;
        if (source.Length < EventPrefixBytes + 8)
        {
            problem = $"{source.Length} bytes are too short for an event";
            return null;
        }
        var stored = BinaryPrimitives.ReadUInt32BigEndian(source);
        var computed = Crc32C.Compute(source[4..]);
        if (stored != computed)
        {
            problem = $"event checksum mismatch: stored 0x{stored:x8}, computed 0x{computed:x8}";
            return null;
        }
        var position = EventPrefixBytes;
        var headerCount = BinaryPrimitives.ReadInt32BigEndian(source[position..]);
        position += 4;
        if (headerCount < 0 || headerCount > (source.Length - position) / 8)
        {
            problem = $"header count {headerCount} does not fit the event";
            return null;
        }
        Dictionary<string, string>? headers = headerCount == 0 ? null : new Dictionary<string, string>(headerCount, StringComparer.Ordinal);
        for (var i = 0; i < headerCount; i++)
        {
            if (!TryReadString(source, ref position, out var key) || !TryReadString(source, ref position, out var value))
            {
                problem = $"header {i} runs past the end of the event";
                return null;
            }
            headers![key] = value;
        }
        if (position + 4 > source.Length)
        {
            problem = "body length runs past the end of the event";
            return null;
        }
        var bodyLength = BinaryPrimitives.ReadInt32BigEndian(source[position..]);
        position += 4;
        if (bodyLength < 0 || position + bodyLength != source.Length)
        {
            problem = $"body length {bodyLength} does not match the event length {source.Length - EventPrefixBytes}";
            return null;
        }
        return new Event(source.Slice(position, bodyLength).ToArray(), headers);
    }

    private static int WriteString(Span<byte> destination, string value)
    {
        var written = Encoding.UTF8.GetBytes(value, destination[4..]);
        BinaryPrimitives.WriteInt32BigEndian(destination, written);
        return 4 + written;
    }

    private static bool TryReadString(ReadOnlySpan<byte> source, ref int position, out string value)
    {
        value = "";
        if (position + 4 > source.Length)
        {
            return false;
        }
        var length = BinaryPrimitives.ReadInt32BigEndian(source[position..]);
        position += 4;
        if (length < 0 || position + length > source.Length)
        {
            return false;
        }
        value = Encoding.UTF8.GetString(source.Slice(position, length));
        position += length;
        return true;
    }
}

/// <summary>
/// The encoded records of one committing transaction: one buffer per record, rented from the shared pool and returned by
/// <see cref="Dispose"/> once the records are durable (the log does not copy them before writing).
/// </summary>
internal sealed class EncodedTransaction : IDisposable
{
    private readonly List<(byte[] Buffer, int Length, int Count)> _records = [];

    public int RecordCount => _records.Count;

    public ReadOnlyMemory<byte> Record(int index) => _records[index].Buffer.AsMemory(0, _records[index].Length);

    public int EventCount(int index) => _records[index].Count;

    public long TotalBytes { get; private set; }

    /// <summary>Encodes a put transaction: its events in order, split into records of about <see cref="DataRecord.ChunkBytes"/>.</summary>
    /// <exception cref="ChannelException">An event is larger than a record may be.</exception>
    public static EncodedTransaction Puts(IReadOnlyList<Event> events, string channelDescriptor)
    {
        var result = new EncodedTransaction();
        var start = 0;
        while (start < events.Count)
        {
            var size = DataRecord.HeaderBytes;
            var end = start;
            while (end < events.Count)
            {
                var eventSize = DataRecord.EncodedSize(events[end]);
                if (DataRecord.HeaderBytes + eventSize > DataRecord.RecordBytesMax)
                {
                    result.Dispose();
                    throw new ChannelException($"Event of {eventSize} bytes is larger than the file channel's limit of {DataRecord.RecordBytesMax - DataRecord.HeaderBytes} bytes {channelDescriptor}");
                }
                if (end > start && size + eventSize > DataRecord.ChunkBytes)
                {
                    break;
                }
                size += eventSize;
                end++;
            }
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            var position = DataRecord.HeaderBytes;
            for (var i = start; i < end; i++)
            {
                position += DataRecord.WriteEvent(buffer.AsSpan(position), events[i]);
            }
            result.Add(buffer, position, end - start);
            start = end;
        }
        return result;
    }

    /// <summary>Encodes a take transaction's pointers.</summary>
    public static EncodedTransaction Takes(IReadOnlyList<QueueEntry> taken)
    {
        var result = new EncodedTransaction();
        const int perRecord = (DataRecord.ChunkBytes - DataRecord.HeaderBytes) / DataRecord.PointerBytes;
        for (var start = 0; start < taken.Count; start += perRecord)
        {
            var count = Math.Min(perRecord, taken.Count - start);
            var size = DataRecord.HeaderBytes + count * DataRecord.PointerBytes;
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            var position = DataRecord.HeaderBytes;
            for (var i = start; i < start + count; i++)
            {
                position += DataRecord.WritePointer(buffer.AsSpan(position), taken[i].Pointer);
            }
            result.Add(buffer, position, count);
        }
        return result;
    }

    /// <summary>Fills in the record headers once the write orders are known (first = the transaction id).</summary>
    public void Seal(byte kind, long transactionId)
    {
        for (var i = 0; i < _records.Count; i++)
        {
            var flags = i == _records.Count - 1 ? DataRecord.FlagCommit : (byte)0;
            DataRecord.WriteHeader(_records[i].Buffer, kind, flags, transactionId, _records[i].Count);
        }
    }

    /// <summary>Forgets the buffers without returning them to the pool (a writer may still read some of them).</summary>
    public void Abandon() => _records.Clear();

    public void Dispose()
    {
        foreach (var (buffer, _, _) in _records)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _records.Clear();
    }

    private void Add(byte[] buffer, int length, int count)
    {
        _records.Add((buffer, length, count));
        TotalBytes += length;
    }
}
