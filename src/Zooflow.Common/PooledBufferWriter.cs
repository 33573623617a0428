using System.Buffers;

namespace Zooflow.Common;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> of bytes whose storage is rented from <see cref="ArrayPool{T}.Shared"/>,
/// like <see cref="ArrayBufferWriter{T}"/> but returning its array to the pool on
/// <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Not thread-safe. Growing copies the written bytes into a larger rented array and returns the old one to the pool, so a
/// <see cref="Memory{T}"/> obtained from <see cref="GetMemory"/> must not be used after a later <see cref="GetMemory"/> /
/// <see cref="GetSpan"/> call; use <see cref="WrittenSpan"/> with an index to patch bytes already written.
/// The capacity never exceeds <see cref="MaxCapacity"/>: requesting more throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    /// <summary>The default cap: <see cref="Array.MaxLength"/>, i.e. only the runtime's limit.</summary>
    public static readonly int DefaultMaxCapacity = Array.MaxLength;

    private const int MinimumGrowth = 256;

    private byte[] _buffer;
    private int _written;

    /// <summary>Creates a writer that rents <paramref name="initialCapacity"/> bytes on first use.</summary>
    /// <param name="initialCapacity">The size of the first rented array.</param>
    /// <param name="maxCapacity">The largest buffer this writer may grow to.</param>
    public PooledBufferWriter(int initialCapacity = MinimumGrowth, int maxCapacity = int.MaxValue)
    {
        if (initialCapacity < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(initialCapacity), initialCapacity, "must not be negative");
        }

        if (maxCapacity < 1)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(maxCapacity), maxCapacity, "must be positive");
        }

        MaxCapacity = Math.Min(maxCapacity, DefaultMaxCapacity);
        _buffer = initialCapacity == 0 ? [] : ArrayPool<byte>.Shared.Rent(Math.Min(initialCapacity, MaxCapacity));
    }

    /// <summary>The largest number of bytes this writer will hold.</summary>
    public int MaxCapacity { get; }

    /// <summary>The number of bytes written so far.</summary>
    public int WrittenCount => _written;

    /// <summary>The bytes written so far. Writable so that callers can patch a reserved slot (e.g. a length prefix).</summary>
    public Span<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>The bytes written so far, valid until the next write, <see cref="Clear"/> or <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Forgets the written bytes but keeps the rented array for reuse.</summary>
    public void Clear() => _written = 0;

    /// <summary>Copies the written bytes into a new array.</summary>
    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <inheritdoc />
    public void Advance(int count)
    {
        if (count < 0 || count > _buffer.Length - _written)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(count), count, $"must be within the {_buffer.Length - _written} bytes last handed out");
        }

        _written += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        EnsureFree(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Returns the rented array to the pool. The writer is empty afterwards and may be reused.</summary>
    public void Dispose()
    {
        var old = _buffer;
        _buffer = [];
        _written = 0;
        if (old.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }

    private void EnsureFree(int sizeHint)
    {
        if (sizeHint < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(sizeHint), sizeHint, "must not be negative");
        }

        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        Grow(needed);
    }

    private void Grow(int needed)
    {
        var required = (long)_written + needed;
        if (required > MaxCapacity)
        {
            ThrowHelper.ThrowInvalidOperation($"PooledBufferWriter: {required} bytes needed exceed the maximum capacity of {MaxCapacity} bytes");
        }

        // Double (as ArrayBufferWriter does) to keep appends amortised O(1), but never beyond the cap.
        var target = Math.Max(required, Math.Max((long)_buffer.Length * 2, MinimumGrowth));
        var size = (int)Math.Min(target, MaxCapacity);
        var next = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _written).CopyTo(next);
        var old = _buffer;
        _buffer = next;
        if (old.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(old);
        }
    }
}
