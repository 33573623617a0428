using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Zooflow.Common;

namespace Zooflow.Jute;

/// <summary>
/// Writes ZooKeeper's jute binary encoding (see <see cref="JuteReader"/> for the grammar) straight into an
/// <see cref="IBufferWriter{T}"/>, with no intermediate buffers.
/// </summary>
/// <remarks>
/// <para>Length-prefixed regions (frames, and the sub-transaction buffers of a multi) are written by reserving the 4-byte
/// prefix (<see cref="BeginLengthPrefix"/>), writing the content and patching the prefix (<see cref="EndLengthPrefix"/>).
/// Patching needs the reserved bytes to stay where they are until the region ends. That holds for
/// <see cref="PooledBufferWriter"/> and <see cref="ArrayBufferWriter{T}"/> (patched through their written span) and for a
/// <c>PipeWriter</c> before it is flushed (its segments do not move); any other writer must give the same guarantee.</para>
/// <para>Writing null for a string, buffer or vector writes length/count -1, as Java's jute does; so does writing the
/// <see cref="JuteNull.Buffer"/> sentinel that <see cref="JuteReader.ReadBuffer"/> returns for a null buffer.</para>
/// </remarks>
public ref struct JuteWriter
{
    private readonly IBufferWriter<byte> _output;
    private long _written;

    /// <summary>Creates a writer appending to <paramref name="output"/>.</summary>
    public JuteWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <summary>Bytes written through this writer so far.</summary>
    public readonly long BytesWritten => _written;

    /// <summary>The underlying output.</summary>
    public readonly IBufferWriter<byte> Output => _output;

    /// <summary>Writes a big-endian int32.</summary>
    public void WriteInt(int value)
    {
        var span = _output.GetSpan(sizeof(int));
        BinaryPrimitives.WriteInt32BigEndian(span, value);
        _output.Advance(sizeof(int));
        _written += sizeof(int);
    }

    /// <summary>Writes a big-endian int64.</summary>
    public void WriteLong(long value)
    {
        var span = _output.GetSpan(sizeof(long));
        BinaryPrimitives.WriteInt64BigEndian(span, value);
        _output.Advance(sizeof(long));
        _written += sizeof(long);
    }

    /// <summary>Writes a boolean as one byte, 1 or 0.</summary>
    public void WriteBool(bool value)
    {
        var span = _output.GetSpan(1);
        span[0] = value ? (byte)1 : (byte)0;
        _output.Advance(1);
        _written++;
    }

    /// <summary>Writes raw bytes with no length prefix.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var span = _output.GetSpan(1);
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            _output.Advance(n);
            _written += n;
            bytes = bytes[n..];
        }
    }

    /// <summary>Writes a buffer: its length then its bytes.</summary>
    public void WriteBuffer(ReadOnlySpan<byte> bytes)
    {
        WriteInt(bytes.Length);
        WriteRaw(bytes);
    }

    /// <summary>Writes a buffer; null and <see cref="JuteNull.Buffer"/> are written as length -1.</summary>
    public void WriteBuffer(byte[]? bytes)
    {
        if (JuteNull.IsNull(bytes))
        {
            WriteInt(-1);
            return;
        }

        WriteBuffer(bytes.AsSpan());
    }

    /// <summary>Writes a buffer given as a sequence.</summary>
    public void WriteBuffer(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.Length > int.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(bytes), bytes.Length, "must fit a jute int32 length");
        }

        WriteInt((int)bytes.Length);
        foreach (var segment in bytes)
        {
            WriteRaw(segment.Span);
        }
    }

    /// <summary>Writes a UTF-8 ustring; null is written as length -1.</summary>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt(-1);
            return;
        }

        var byteCount = Encoding.UTF8.GetByteCount(value);
        var span = _output.GetSpan(sizeof(int) + byteCount);
        BinaryPrimitives.WriteInt32BigEndian(span, byteCount);
        var encoded = Encoding.UTF8.GetBytes(value, span[sizeof(int)..]);
        _output.Advance(sizeof(int) + encoded);
        _written += sizeof(int) + encoded;
    }

    /// <summary>Writes a vector count; null (-1) is written with <see cref="WriteInt"/>(-1).</summary>
    public void WriteVectorCount(int count) => WriteInt(count);

    /// <summary>Writes <c>vector&lt;ustring&gt;</c>; null is written as count -1.</summary>
    public void WriteStringVector(IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            WriteInt(-1);
            return;
        }

        WriteInt(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            WriteString(values[i]);
        }
    }

    /// <summary>Writes an <see cref="Id"/>.</summary>
    public void WriteId(Id id)
    {
        WriteString(id.Scheme);
        WriteString(id.Ident);
    }

    /// <summary>Writes an <see cref="Acl"/>.</summary>
    public void WriteAcl(Acl acl)
    {
        WriteInt((int)acl.Perms);
        WriteId(acl.Id);
    }

    /// <summary>Writes <c>vector&lt;ACL&gt;</c>; null is written as count -1.</summary>
    public void WriteAclVector(IReadOnlyList<Acl>? acl)
    {
        if (acl is null)
        {
            WriteInt(-1);
            return;
        }

        WriteInt(acl.Count);
        for (var i = 0; i < acl.Count; i++)
        {
            WriteAcl(acl[i]);
        }
    }

    /// <summary>Writes a <see cref="Stat"/> (68 bytes).</summary>
    public void WriteStat(in Stat stat)
    {
        const int StatBytes = 68;
        var span = _output.GetSpan(StatBytes);
        BinaryPrimitives.WriteInt64BigEndian(span, stat.Czxid);
        BinaryPrimitives.WriteInt64BigEndian(span[8..], stat.Mzxid);
        BinaryPrimitives.WriteInt64BigEndian(span[16..], stat.Ctime);
        BinaryPrimitives.WriteInt64BigEndian(span[24..], stat.Mtime);
        BinaryPrimitives.WriteInt32BigEndian(span[32..], stat.Version);
        BinaryPrimitives.WriteInt32BigEndian(span[36..], stat.Cversion);
        BinaryPrimitives.WriteInt32BigEndian(span[40..], stat.Aversion);
        BinaryPrimitives.WriteInt64BigEndian(span[44..], stat.EphemeralOwner);
        BinaryPrimitives.WriteInt32BigEndian(span[52..], stat.DataLength);
        BinaryPrimitives.WriteInt32BigEndian(span[56..], stat.NumChildren);
        BinaryPrimitives.WriteInt64BigEndian(span[60..], stat.Pzxid);
        _output.Advance(StatBytes);
        _written += StatBytes;
    }

    /// <summary>Reserves a 4-byte length prefix to be patched by <see cref="EndLengthPrefix"/> once the content is written.</summary>
    public LengthPrefix BeginLengthPrefix()
    {
        var index = _output switch
        {
            PooledBufferWriter pooled => pooled.WrittenCount,
            ArrayBufferWriter<byte> array => array.WrittenCount,
            _ => -1,
        };
        var slot = _output.GetMemory(sizeof(int))[..sizeof(int)];
        slot.Span.Clear();
        _output.Advance(sizeof(int));
        var mark = new LengthPrefix(_written, index, slot);
        _written += sizeof(int);
        return mark;
    }

    /// <summary>Patches a prefix reserved by <see cref="BeginLengthPrefix"/> with the number of bytes written since.</summary>
    /// <returns>The length written into the prefix.</returns>
    public readonly int EndLengthPrefix(LengthPrefix prefix)
    {
        var length = _written - prefix.Start - sizeof(int);
        if (length < 0 || length > int.MaxValue)
        {
            ThrowHelper.ThrowInvalidOperation($"length prefix region of {length} bytes is invalid (prefix ended twice or out of order?)");
        }

        Span<byte> slot = _output switch
        {
            PooledBufferWriter pooled when prefix.Index >= 0 => pooled.WrittenSpan.Slice(prefix.Index, sizeof(int)),
            ArrayBufferWriter<byte> array when prefix.Index >= 0 =>
                MemoryMarshal.AsMemory(array.WrittenMemory).Span.Slice(prefix.Index, sizeof(int)),
            _ => prefix.Slot.Span,
        };
        BinaryPrimitives.WriteInt32BigEndian(slot, (int)length);
        return (int)length;
    }
}

/// <summary>A reserved 4-byte length prefix; see <see cref="JuteWriter.BeginLengthPrefix"/>.</summary>
/// <param name="Start">The writer's <see cref="JuteWriter.BytesWritten"/> where the prefix starts.</param>
/// <param name="Index">The prefix's index in a <see cref="PooledBufferWriter"/> / <see cref="ArrayBufferWriter{T}"/>, else -1.</param>
/// <param name="Slot">The reserved bytes, used for writers that do not move written memory.</param>
public readonly record struct LengthPrefix(long Start, int Index, Memory<byte> Slot);
