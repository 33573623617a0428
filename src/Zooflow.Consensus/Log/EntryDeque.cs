namespace Zooflow.Consensus.Log;

/// <summary>A growable ring of log entries in zxid order: append at the back, drop from the front or the back, index and
/// binary-search in O(1)/O(log n). Not thread-safe.</summary>
internal sealed class EntryDeque
{
    private LogEntry[] _items = new LogEntry[64];
    private int _head;

    public int Count { get; private set; }

    public LogEntry this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be below Count {Count}");
            }

            return _items[(_head + index) % _items.Length];
        }
    }

    public LogEntry Last => this[Count - 1];

    public void Add(LogEntry entry)
    {
        if (Count == _items.Length)
        {
            var bigger = new LogEntry[_items.Length * 2];
            for (int i = 0; i < Count; i++)
            {
                bigger[i] = this[i];
            }

            _items = bigger;
            _head = 0;
        }

        _items[(_head + Count) % _items.Length] = entry;
        Count++;
    }

    /// <summary>Drops the first <paramref name="n"/> entries.</summary>
    public void RemoveFront(int n)
    {
        for (int i = 0; i < n; i++)
        {
            _items[(_head + i) % _items.Length] = default; // release payload references
        }

        _head = (_head + n) % _items.Length;
        Count -= n;
    }

    /// <summary>Keeps only the first <paramref name="count"/> entries.</summary>
    public void KeepFront(int count)
    {
        for (int i = count; i < Count; i++)
        {
            _items[(_head + i) % _items.Length] = default;
        }

        Count = count;
    }

    public void Clear() => KeepFront(0);

    /// <summary>Index of the first entry with a zxid greater than <paramref name="zxid"/> (Count when none).</summary>
    public int FirstAfter(long zxid)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (this[mid].Zxid <= zxid)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}
