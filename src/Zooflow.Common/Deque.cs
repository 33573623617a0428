namespace Zooflow.Common;

/// <summary>
/// A growable ring buffer with O(1) operations at both ends and indexed reads from the head: the queue of a channel
/// (events appended at the tail on commit, taken from the head, rolled-back takes returned to the head in order).
/// </summary>
/// <remarks>Not thread-safe: the owner guards it with its own lock. Grows by doubling; never shrinks.</remarks>
/// <typeparam name="T">The element type.</typeparam>
public sealed class Deque<T>(int initialCapacity)
{
    private T[] _items = new T[Math.Max(4, initialCapacity)];
    private int _head;

    /// <summary>Elements held.</summary>
    public int Count { get; private set; }

    /// <summary>The element <paramref name="index"/> places behind the head (0 = head).</summary>
    public T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(index), index, $"must be within 0..{Count - 1}");
            }
            return _items[(_head + index) % _items.Length];
        }
    }

    /// <summary>Appends at the tail.</summary>
    public void AddLast(T item)
    {
        EnsureRoom();
        _items[(_head + Count) % _items.Length] = item;
        Count++;
    }

    /// <summary>Inserts before the head.</summary>
    public void AddFirst(T item)
    {
        EnsureRoom();
        _head = (_head - 1 + _items.Length) % _items.Length;
        _items[_head] = item;
        Count++;
    }

    /// <summary>Removes and returns the head; the deque must not be empty.</summary>
    public T RemoveFirst()
    {
        if (Count == 0)
        {
            ThrowHelper.ThrowInvalidOperation("RemoveFirst on an empty deque");
        }
        var item = _items[_head];
        _items[_head] = default!;
        _head = (_head + 1) % _items.Length;
        Count--;
        return item;
    }

    /// <summary>Copies every element, head first, into <paramref name="destination"/> (at least <see cref="Count"/> long).</summary>
    public void CopyTo(Span<T> destination)
    {
        var first = Math.Min(Count, _items.Length - _head);
        _items.AsSpan(_head, first).CopyTo(destination);
        _items.AsSpan(0, Count - first).CopyTo(destination[first..]);
    }

    private void EnsureRoom()
    {
        if (Count < _items.Length)
        {
            return;
        }
        var bigger = new T[_items.Length * 2];
        CopyTo(bigger);
        _items = bigger;
        _head = 0;
    }
}
