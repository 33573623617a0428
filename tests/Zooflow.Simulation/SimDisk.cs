using Zooflow.Consensus;

namespace Zooflow.Simulation;

/// <summary>
/// A simulated disk for one server: hard state, log and snapshot, split into what is durable and what was written but
/// not yet fsynced. A crash keeps a random prefix of the unsynced writes (the write at the cut is torn, and recovery
/// discards it) and loses the rest — the "disk writes lost before fsync" fault. It is also the server's
/// <see cref="IZabStorage"/>: reads see durable data (the driver fsyncs before it advances the core).
/// </summary>
public sealed class SimDisk : IZabStorage
{
    private readonly List<LogEntry> _log = [];
    private readonly List<DiskWrite> _unsynced = [];
    private long _base;

    private abstract record DiskWrite;

    private sealed record HardStateWrite(HardState State) : DiskWrite;

    private sealed record SnapshotInstall(SnapshotData Snapshot) : DiskWrite;

    private sealed record Truncation(long AfterZxid) : DiskWrite;

    private sealed record Append(LogEntry Entry) : DiskWrite;

    public HardState HardState { get; private set; }

    public long LastZxid => _log.Count > 0 ? _log[^1].Zxid : _base;

    /// <summary>The newest durable snapshot (from a leader, or the server's own).</summary>
    public SnapshotData? Snapshot { get; private set; }

    public int LogCount => _log.Count;

    /// <summary>Writes of one Ready in the contract's order (log writes, then hard state), not yet durable.</summary>
    public void Write(Ready ready)
    {
        if (ready.InstallSnapshot is SnapshotData snapshot)
        {
            _unsynced.Add(new SnapshotInstall(snapshot));
        }

        if (ready.TruncateAfterZxid is long truncate)
        {
            _unsynced.Add(new Truncation(truncate));
        }

        foreach (LogEntry e in ready.Entries)
        {
            _unsynced.Add(new Append(e));
        }

        if (ready.HardState is HardState hard)
        {
            _unsynced.Add(new HardStateWrite(hard));
        }
    }

    public bool HasUnsynced => _unsynced.Count > 0;

    public void Fsync()
    {
        foreach (DiskWrite w in _unsynced)
        {
            Apply(w);
        }

        _unsynced.Clear();
    }

    /// <summary>Power loss: a prefix of the unsynced writes reached the platter; the rest, including a torn one, is gone.
    /// Returns how many writes survived of how many.</summary>
    public (int Kept, int Written) Crash(SimRandom random)
    {
        int written = _unsynced.Count;
        int kept = random.Next(written + 1);
        for (int i = 0; i < kept; i++)
        {
            Apply(_unsynced[i]);
        }

        _unsynced.Clear();
        return (kept, written);
    }

    private void Apply(DiskWrite w)
    {
        switch (w)
        {
            case HardStateWrite h:
                HardState = h.State;
                break;
            case SnapshotInstall s:
                // The driver writes the snapshot durably first, then resets the log to start after it.
                Snapshot = s.Snapshot;
                _log.Clear();
                _base = s.Snapshot.Zxid;
                break;
            case Truncation t:
                if (t.AfterZxid < _base)
                {
                    throw new InvalidOperationException($"truncation after {Zxid.ToHex(t.AfterZxid)} below the log base {Zxid.ToHex(_base)}");
                }

                _log.RemoveAll(e => e.Zxid > t.AfterZxid);
                break;
            case Append a:
                if (a.Entry.Zxid <= LastZxid)
                {
                    throw new InvalidOperationException($"append of {Zxid.ToHex(a.Entry.Zxid)} after {Zxid.ToHex(LastZxid)}");
                }

                _log.Add(a.Entry);
                break;
        }
    }

    /// <summary>The server's own snapshot (durable at once, as the server fsyncs and renames before it purges).</summary>
    public void SaveSnapshot(SnapshotData snapshot)
    {
        if (Snapshot is null || snapshot.Zxid >= Snapshot.Zxid)
        {
            Snapshot = snapshot;
        }
    }

    /// <summary>Retention: drops log records up to <paramref name="zxid"/> (never beyond the newest snapshot).</summary>
    public void PurgeThrough(long zxid)
    {
        long limit = Math.Min(zxid, Snapshot?.Zxid ?? 0);
        int n = 0;
        while (n < _log.Count && _log[n].Zxid <= limit)
        {
            n++;
        }

        if (n > 0)
        {
            _base = Math.Max(_base, _log[n - 1].Zxid);
            _log.RemoveRange(0, n);
        }
    }

    public bool TryReadEntries(long afterZxid, long toZxid, int maxCount, List<LogEntry> output)
    {
        if (afterZxid < _base)
        {
            return false;
        }

        int i = FirstAfter(afterZxid);
        for (; i < _log.Count && maxCount > 0 && _log[i].Zxid <= toZxid; i++, maxCount--)
        {
            output.Add(_log[i]);
        }

        return true;
    }

    public bool TryGetZxidAtOrBefore(long zxid, out long found)
    {
        if (zxid < _base)
        {
            found = 0;
            return false;
        }

        int i = FirstAfter(zxid);
        found = i > 0 ? _log[i - 1].Zxid : _base;
        return true;
    }

    private int FirstAfter(long zxid)
    {
        int lo = 0, hi = _log.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_log[mid].Zxid <= zxid)
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
