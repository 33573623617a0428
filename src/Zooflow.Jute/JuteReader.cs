using System.Buffers;
using System.Text;

namespace Zooflow.Jute;

/// <summary>
/// Reads ZooKeeper's jute binary encoding from one complete frame (or any complete record buffer).
/// </summary>
/// <remarks>
/// <para>The reader never waits for more bytes: it is given a whole frame (see <see cref="Frame.TryRead"/>) and treats running
/// out of bytes as malformed input. Every failure throws <see cref="ProtocolException"/> naming the field, the offset from
/// the start of the buffer and the bad value. Every length and count is checked against the remaining bytes and against
/// jute.maxbuffer <em>before</em> anything is allocated, so a hostile length cannot make the reader allocate more than the
/// frame it was handed.</para>
/// <para>Wire grammar (jute <c>BinaryInputArchive</c>; all integers big-endian, two's complement):</para>
/// <code>
/// int        = 4 bytes
/// long       = 8 bytes
/// boolean    = 1 byte            ; 0 = false, anything else = true (as java.io.DataInput.readBoolean)
/// buffer     = int len, len bytes  ; len = -1 encodes null, read here as JuteNull.Buffer (an empty array)
/// ustring    = int len, len bytes of UTF-8 ; len = -1 encodes null, read here as ""
/// vector&lt;T&gt;  = int count, count * T ; count = -1 encodes null, read here as an empty list
/// Id         = ustring scheme, ustring id
/// ACL        = int perms, Id id
/// Stat       = long czxid, long mzxid, long ctime, long mtime, int version, int cversion, int aversion,
///              long ephemeralOwner, int dataLength, int numChildren, long pzxid
/// record     = its fields in declaration order, no tag, no length, no padding
/// frame      = int length, length bytes   ; see Frame
/// </code>
/// <para>Reading primitives allocates nothing; strings and byte arrays allocate exactly their payload.</para>
/// </remarks>
public ref struct JuteReader
{
    /// <summary>ZooKeeper's default jute.maxbuffer: 0xfffff bytes (1 MiB - 1).</summary>
    public const int DefaultMaxBufferBytes = 0xfffff;

    private const int MinStringBytes = 4;   // an empty or null ustring is its 4-byte length
    private const int MinAclBytes = 12;     // int perms + two empty ustrings

    private SequenceReader<byte> _reader;
    private readonly int _maxBufferBytes;

    /// <summary>Creates a reader over a complete record buffer.</summary>
    /// <param name="buffer">The bytes of the record(s), e.g. a frame body without its length prefix.</param>
    /// <param name="maxBufferBytes">jute.maxbuffer: the largest accepted length of one buffer or string.</param>
    public JuteReader(ReadOnlySequence<byte> buffer, int maxBufferBytes = DefaultMaxBufferBytes)
    {
        _reader = new SequenceReader<byte>(buffer);
        _maxBufferBytes = maxBufferBytes;
    }

    /// <summary>Creates a reader over a complete record buffer held in one array.</summary>
    public JuteReader(ReadOnlyMemory<byte> buffer, int maxBufferBytes = DefaultMaxBufferBytes)
        : this(new ReadOnlySequence<byte>(buffer), maxBufferBytes)
    {
    }

    /// <summary>Bytes consumed so far: the offset of the next field.</summary>
    public readonly long Consumed => _reader.Consumed;

    /// <summary>Bytes not yet consumed.</summary>
    public readonly long Remaining => _reader.Remaining;

    /// <summary>True when every byte has been consumed.</summary>
    public readonly bool End => _reader.End;

    /// <summary>jute.maxbuffer as given to this reader.</summary>
    public readonly int MaxBufferBytes => _maxBufferBytes;

    /// <summary>The bytes not yet consumed.</summary>
    public readonly ReadOnlySequence<byte> UnreadSequence => _reader.UnreadSequence;

    /// <summary>Reads a big-endian int32.</summary>
    /// <param name="field">The field name for error messages, <c>Record.field</c>.</param>
    public int ReadInt(string field)
    {
        if (!_reader.TryReadBigEndian(out int value))
        {
            JuteThrow.Truncated(field, _reader.Consumed, sizeof(int), _reader.Remaining);
        }

        return value;
    }

    /// <summary>Reads a big-endian int64.</summary>
    public long ReadLong(string field)
    {
        if (!_reader.TryReadBigEndian(out long value))
        {
            JuteThrow.Truncated(field, _reader.Consumed, sizeof(long), _reader.Remaining);
        }

        return value;
    }

    /// <summary>Reads a one-byte boolean (non-zero is true).</summary>
    public bool ReadBool(string field)
    {
        if (!_reader.TryRead(out var value))
        {
            JuteThrow.Truncated(field, _reader.Consumed, 1, _reader.Remaining);
        }

        return value != 0;
    }

    /// <summary>Reads a buffer; a null buffer (length -1) is returned as <see cref="JuteNull.Buffer"/>, an empty array that
    /// <see cref="JuteWriter"/> writes back as null.</summary>
    public byte[] ReadBuffer(string field) => ReadNullableBuffer(field) ?? JuteNull.Buffer;

    /// <summary>Reads a buffer; a null buffer (length -1) is returned as null.</summary>
    public byte[]? ReadNullableBuffer(string field)
    {
        var length = ReadLength(field, "buffer length");
        if (length < 0)
        {
            return null;
        }

        if (length == 0)
        {
            return [];
        }

        var bytes = new byte[length];
        _reader.TryCopyTo(bytes);
        _reader.Advance(length);
        return bytes;
    }

    /// <summary>Reads a buffer without copying it: the returned slice aliases the frame and is valid as long as it is.
    /// A null buffer (length -1) is returned as an empty sequence.</summary>
    public ReadOnlySequence<byte> ReadBufferSequence(string field)
    {
        var length = ReadLength(field, "buffer length");
        if (length <= 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var slice = _reader.UnreadSequence.Slice(0, length);
        _reader.Advance(length);
        return slice;
    }

    /// <summary>Reads a UTF-8 ustring; a null string (length -1) is returned as "". Invalid UTF-8 is replaced with U+FFFD, as Java does.</summary>
    public string ReadString(string field) => ReadNullableString(field) ?? string.Empty;

    /// <summary>Reads a UTF-8 ustring; a null string (length -1) is returned as null.</summary>
    public string? ReadNullableString(string field)
    {
        var length = ReadLength(field, "string length");
        if (length < 0)
        {
            return null;
        }

        if (length == 0)
        {
            return string.Empty;
        }

        string value;
        var unread = _reader.UnreadSpan;
        if (unread.Length >= length)
        {
            value = Encoding.UTF8.GetString(unread[..length]);
        }
        else
        {
            value = Encoding.UTF8.GetString(_reader.UnreadSequence.Slice(0, length));
        }

        _reader.Advance(length);
        return value;
    }

    /// <summary>Reads a vector count: -1 (null) is returned as 0. The count is checked against the remaining bytes given
    /// the smallest encoding of one element, so callers may allocate <c>count</c> elements safely.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <param name="minElementBytes">The fewest bytes one element can occupy (at least 1 for bounded allocation).</param>
    public int ReadVectorCount(string field, int minElementBytes)
    {
        var offset = _reader.Consumed;
        var count = ReadInt(field);
        if (count == -1)
        {
            return 0;
        }

        if (count < 0)
        {
            JuteThrow.NegativeLength(field, "vector count", offset, count);
        }

        if ((long)count * Math.Max(minElementBytes, 1) > _reader.Remaining)
        {
            JuteThrow.CountExceedsRemaining(field, offset, count, _reader.Remaining, Math.Max(minElementBytes, 1));
        }

        return count;
    }

    /// <summary>Reads <c>vector&lt;ustring&gt;</c>; null is returned as an empty list.</summary>
    public IReadOnlyList<string> ReadStringVector(string field)
    {
        var count = ReadVectorCount(field, MinStringBytes);
        if (count == 0)
        {
            return [];
        }

        var items = new string[count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = ReadString(field);
        }

        return items;
    }

    /// <summary>Reads an <see cref="Id"/>: <c>ustring scheme, ustring id</c>.</summary>
    public Id ReadId(string field) => new(ReadString(field), ReadString(field));

    /// <summary>Reads an <see cref="Acl"/>: <c>int perms, Id id</c>.</summary>
    public Acl ReadAcl(string field)
    {
        var perms = (Perms)ReadInt(field);
        return new Acl(perms, ReadId(field));
    }

    /// <summary>Reads <c>vector&lt;ACL&gt;</c>; null is returned as an empty list.</summary>
    public IReadOnlyList<Acl> ReadAclVector(string field)
    {
        var count = ReadVectorCount(field, MinAclBytes);
        if (count == 0)
        {
            return [];
        }

        var items = new Acl[count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = ReadAcl(field);
        }

        return items;
    }

    /// <summary>Reads a <see cref="Stat"/> (68 bytes).</summary>
    public Stat ReadStat(string field) => new(
        Czxid: ReadLong(field),
        Mzxid: ReadLong(field),
        Ctime: ReadLong(field),
        Mtime: ReadLong(field),
        Version: ReadInt(field),
        Cversion: ReadInt(field),
        Aversion: ReadInt(field),
        EphemeralOwner: ReadLong(field),
        DataLength: ReadInt(field),
        NumChildren: ReadInt(field),
        Pzxid: ReadLong(field));

    /// <summary>Throws <see cref="ProtocolException"/> unless every byte has been consumed.</summary>
    /// <param name="record">The record that should have ended here, for the message.</param>
    public readonly void ExpectEnd(string record)
    {
        if (!_reader.End)
        {
            JuteThrow.TrailingBytes(record, _reader.Consumed, _reader.Remaining);
        }
    }

    /// <summary>Reads a length prefix and validates it: returns -1 for null, else a length that fits the remaining bytes
    /// and jute.maxbuffer.</summary>
    private int ReadLength(string field, string what)
    {
        var offset = _reader.Consumed;
        var length = ReadInt(field);
        if (length >= 0)
        {
            if (length > _reader.Remaining)
            {
                JuteThrow.LengthExceedsRemaining(field, what, offset, length, _reader.Remaining);
            }

            if (length > _maxBufferBytes)
            {
                JuteThrow.LengthExceedsMax(field, what, offset, length, _maxBufferBytes);
            }

            return length;
        }

        if (length != -1)
        {
            JuteThrow.NegativeLength(field, what, offset, length);
        }

        return -1;
    }
}
