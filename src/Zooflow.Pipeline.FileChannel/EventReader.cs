using System.Buffers;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// Reads events back from the data files for a take transaction, one 64 KiB block at a time: events that were put
/// together lie together, so a batch of takes costs a few reads instead of one per event.
/// </summary>
/// <remarks>Owned by one transaction; not thread-safe. <see cref="Dispose"/> returns the pooled buffer.</remarks>
internal sealed class EventReader : IDisposable
{
    private const int BlockBytes = 64 * 1024;

    private byte[]? _buffer;
    private long _segment = -1;
    private long _start;
    private int _length;

    /// <summary>Reads and checks the event at <paramref name="pointer"/>; null with the reason when it cannot be used.</summary>
    public Event? Read(DataLog data, EventPointer pointer, out string? problem)
    {
        try
        {
            if (!Covers(pointer, DataRecord.EventPrefixBytes))
            {
                Fill(data, pointer, DataRecord.EventPrefixBytes);
            }
            if (!Covers(pointer, DataRecord.EventPrefixBytes))
            {
                problem = $"the data file ends at offset {_start + _length}, before the event";
                return null;
            }
            var size = DataRecord.ClaimedSize(Slice(pointer, DataRecord.EventPrefixBytes));
            if (size < 0)
            {
                problem = "the event's length field is invalid";
                return null;
            }
            if (!Covers(pointer, size))
            {
                Fill(data, pointer, size);
            }
            if (!Covers(pointer, size))
            {
                problem = $"the event needs {size} bytes but the data file ends at offset {_start + _length}";
                return null;
            }
            return DataRecord.TryReadEvent(Slice(pointer, size), out problem);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
        _segment = -1;
    }

    private bool Covers(EventPointer pointer, int bytes) =>
        pointer.Segment == _segment && pointer.Offset >= _start && pointer.Offset + (long)bytes <= _start + _length;

    private ReadOnlySpan<byte> Slice(EventPointer pointer, int bytes) => _buffer.AsSpan((int)(pointer.Offset - _start), bytes);

    private void Fill(DataLog data, EventPointer pointer, int bytes)
    {
        var want = Math.Max(BlockBytes, bytes);
        if (_buffer is null || _buffer.Length < want)
        {
            Dispose();
            _buffer = ArrayPool<byte>.Shared.Rent(want);
        }
        _segment = -1;
        var read = 0;
        while (read < want)
        {
            var n = data.Read(pointer.Segment, pointer.Offset + (long)read, _buffer.AsSpan(read, want - read));
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        _segment = pointer.Segment;
        _start = pointer.Offset;
        _length = read;
    }
}
