namespace Zooflow.Consensus.Log;

/// <summary>
/// The node's view of its log: what the driver has made durable (read through <see cref="IZabStorage"/>) combined with
/// an in-memory tail of records that are not yet durable, not yet applied, or recently applied (a cache for DIFFs and
/// commits). It also queues the log writes for the next <see cref="Ready"/> and tracks which records are durable.
/// </summary>
/// <remarks>
/// Layout: storage holds the records up to <see cref="_tailBase"/> that this view shows (records after it in storage
/// are either copies of tail records or junk a queued truncation will remove); the tail holds every record after
/// <see cref="_tailBase"/>. Tail indices [0, _durableCount) are durable, [_durableCount, _handedOut) are in the Ready
/// being persisted, [_handedOut, Count) are queued for the next Ready. While a snapshot install is queued or being
/// persisted, storage shows the old log and is not consulted at all.
/// </remarks>
internal sealed class ReplicatedLog
{
    private readonly IZabStorage _storage;
    private readonly EntryDeque _tail = new();
    private long _tailBase;
    private int _durableCount;
    private int _handedOut;
    private SnapshotData? _queuedSnapshot;
    private long? _queuedTruncate;
    private bool _snapshotInFlight;

    public ReplicatedLog(IZabStorage storage)
    {
        _storage = storage;
        _tailBase = storage.LastZxid;
        SnapshotZxid = 0;
    }

    /// <summary>The zxid of the last record in this view (the base when the tail is empty).</summary>
    public long LastZxid => _tail.Count > 0 ? _tail.Last.Zxid : _tailBase;

    /// <summary>The zxid of the last snapshot installed through this view (0 when none since start).</summary>
    public long SnapshotZxid { get; private set; }

    /// <summary>The last zxid such that it and every record before it in this view are durable; -1 while a snapshot
    /// install is pending (nothing can be promised about the log then).</summary>
    public long DurableLastZxid
    {
        get
        {
            if (_queuedSnapshot is not null || _snapshotInFlight)
            {
                return -1;
            }

            return _durableCount > 0 ? _tail[_durableCount - 1].Zxid : _tailBase;
        }
    }

    /// <summary>True when writes are queued for the next Ready.</summary>
    public bool HasQueuedWrites => _queuedSnapshot is not null || _queuedTruncate is not null || _handedOut < _tail.Count;

    /// <summary>Appends a record. Its zxid must exceed <see cref="LastZxid"/> (checked always: a log out of order is
    /// corrupt).</summary>
    public void Append(LogEntry entry)
    {
        if (entry.Zxid <= LastZxid)
        {
            throw new ZabInvariantException(
                $"log append out of order: {Zxid.ToHex(entry.Zxid)} after {Zxid.ToHex(LastZxid)} (zxids must strictly increase)");
        }

        _tail.Add(entry);
    }

    /// <summary>True when <paramref name="zxid"/> is a position of this log: a record in it, its base, or 0.</summary>
    public bool ContainsPosition(long zxid) => TryGetZxidAtOrBefore(zxid, out long found) && found == zxid;

    /// <summary>Removes every record after <paramref name="zxid"/>, which must be a position of this log, and queues the
    /// truncation for storage.</summary>
    public void TruncateAfter(long zxid)
    {
        if (zxid >= LastZxid)
        {
            return;
        }

        if (!ContainsPosition(zxid))
        {
            throw new ZabInvariantException($"truncate after {Zxid.ToHex(zxid)}, which is not in this log (last {Zxid.ToHex(LastZxid)})");
        }

        if (zxid >= _tailBase)
        {
            int keep = _tail.FirstAfter(zxid);
            _tail.KeepFront(keep);
        }
        else
        {
            _tail.Clear();
            _tailBase = zxid;
        }

        _durableCount = Math.Min(_durableCount, _tail.Count);
        _handedOut = Math.Min(_handedOut, _tail.Count);
        _queuedTruncate = _queuedTruncate is long t ? Math.Min(t, zxid) : zxid;
    }

    /// <summary>Replaces the whole log with <paramref name="snapshot"/>: afterwards the log is empty and its base is the
    /// snapshot's zxid.</summary>
    public void InstallSnapshot(SnapshotData snapshot)
    {
        _tail.Clear();
        _durableCount = 0;
        _handedOut = 0;
        _tailBase = snapshot.Zxid;
        _queuedSnapshot = snapshot;
        _queuedTruncate = null;
        SnapshotZxid = snapshot.Zxid;
    }

    /// <summary>Reads records with <paramref name="afterZxid"/> &lt; zxid ≤ <paramref name="toZxid"/>, at most
    /// <paramref name="maxCount"/>. False when some were purged (or hidden by a pending snapshot install).</summary>
    public bool TryRead(long afterZxid, long toZxid, int maxCount, List<LogEntry> output)
    {
        if (afterZxid < _tailBase)
        {
            if (_queuedSnapshot is not null || _snapshotInFlight)
            {
                return false;
            }

            int before = output.Count;
            if (!_storage.TryReadEntries(afterZxid, Math.Min(toZxid, _tailBase), maxCount, output))
            {
                return false;
            }

            for (int i = before + 1; i < output.Count; i++)
            {
                if (output[i].Zxid <= output[i - 1].Zxid)
                {
                    throw new ZabInvariantException($"storage returned records out of order: {Zxid.ToHex(output[i].Zxid)} after {Zxid.ToHex(output[i - 1].Zxid)}");
                }
            }

            maxCount -= output.Count - before;
            if (maxCount <= 0 || toZxid <= _tailBase)
            {
                return true;
            }

            afterZxid = _tailBase;
        }

        for (int i = _tail.FirstAfter(afterZxid); i < _tail.Count && maxCount > 0; i++, maxCount--)
        {
            LogEntry e = _tail[i];
            if (e.Zxid > toZxid)
            {
                break;
            }

            output.Add(e);
        }

        return true;
    }

    /// <summary>The greatest position ≤ <paramref name="zxid"/> (a record, the base, or 0). False when purged.</summary>
    public bool TryGetZxidAtOrBefore(long zxid, out long found)
    {
        if (zxid >= _tailBase)
        {
            int i = _tail.FirstAfter(zxid);
            found = i > 0 ? _tail[i - 1].Zxid : _tailBase;
            return true;
        }

        if (_queuedSnapshot is not null || _snapshotInFlight)
        {
            found = 0;
            return false;
        }

        return _storage.TryGetZxidAtOrBefore(zxid, out found);
    }

    /// <summary>Takes the queued writes for a Ready: snapshot, truncation point and entries, in that order.</summary>
    public (SnapshotData? Snapshot, long? TruncateAfter, IReadOnlyList<LogEntry> Entries) TakeQueuedWrites()
    {
        SnapshotData? snapshot = _queuedSnapshot;
        long? truncate = _queuedTruncate;
        LogEntry[] entries = new LogEntry[_tail.Count - _handedOut];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = _tail[_handedOut + i];
        }

        _handedOut = _tail.Count;
        _queuedSnapshot = null;
        _queuedTruncate = null;
        _snapshotInFlight |= snapshot is not null;
        return (snapshot, truncate, entries);
    }

    /// <summary>The driver made the last taken writes durable.</summary>
    public void WritesDurable()
    {
        _durableCount = _handedOut;
        _snapshotInFlight = false;
    }

    /// <summary>Drops durable records up to <paramref name="appliedZxid"/> from memory, keeping the newest
    /// <paramref name="keep"/> of them (storage serves the rest).</summary>
    public void Evict(long appliedZxid, int keep)
    {
        if (_queuedSnapshot is not null || _snapshotInFlight)
        {
            return;
        }

        int evictable = Math.Min(_durableCount, _tail.FirstAfter(appliedZxid));
        int drop = evictable - keep;
        if (drop <= 0)
        {
            return;
        }

        _tailBase = _tail[drop - 1].Zxid;
        _tail.RemoveFront(drop);
        _durableCount -= drop;
        _handedOut -= drop;
    }
}
