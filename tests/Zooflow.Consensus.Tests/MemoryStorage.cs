namespace Zooflow.Consensus.Tests;

/// <summary>
/// An in-memory <see cref="IZabStorage"/> that a test driver writes Readies into. Every write is immediately "durable"
/// (these tests are about protocol decisions; crashes with lost writes are the simulator's business).
/// </summary>
internal sealed class MemoryStorage : IZabStorage
{
    private readonly List<LogEntry> _entries = [];
    private long _base;

    public HardState HardState { get; private set; }

    public long LastZxid => _entries.Count > 0 ? _entries[^1].Zxid : _base;

    /// <summary>The zxid of the last purged record, or of the snapshot the log was reset to.</summary>
    public long Base => _base;

    public IReadOnlyList<LogEntry> Entries => _entries;

    /// <summary>The newest snapshot (installed from a leader, or taken by <see cref="SaveSnapshot"/>).</summary>
    public SnapshotData? Snapshot { get; private set; }

    /// <summary>Step 1 of the driver contract: snapshot, truncation, entries, then hard state.</summary>
    public void Persist(Ready ready)
    {
        if (ready.InstallSnapshot is SnapshotData snapshot)
        {
            Snapshot = snapshot;
            _entries.Clear();
            _base = snapshot.Zxid;
        }

        if (ready.TruncateAfterZxid is long truncate)
        {
            Assert.True(truncate >= _base, $"truncation after {Zxid.ToHex(truncate)} below the log base {Zxid.ToHex(_base)}");
            _entries.RemoveAll(e => e.Zxid > truncate);
        }

        foreach (LogEntry e in ready.Entries)
        {
            Assert.True(e.Zxid > LastZxid, $"append {Zxid.ToHex(e.Zxid)} after {Zxid.ToHex(LastZxid)}");
            _entries.Add(e);
        }

        if (ready.HardState is HardState hard)
        {
            HardState = hard;
        }
    }

    public void SaveSnapshot(SnapshotData snapshot) => Snapshot = snapshot;

    /// <summary>Drops every record up to <paramref name="zxid"/> (a snapshot covers them).</summary>
    public void PurgeThrough(long zxid)
    {
        _entries.RemoveAll(e => e.Zxid <= zxid);
        _base = Math.Max(_base, zxid);
    }

    public bool TryReadEntries(long afterZxid, long toZxid, int maxCount, List<LogEntry> output)
    {
        if (afterZxid < _base)
        {
            return false;
        }

        foreach (LogEntry e in _entries)
        {
            if (maxCount == 0 || e.Zxid > toZxid)
            {
                break;
            }

            if (e.Zxid > afterZxid)
            {
                output.Add(e);
                maxCount--;
            }
        }

        return true;
    }

    public bool TryGetZxidAtOrBefore(long zxid, out long found)
    {
        found = 0;
        if (zxid < _base)
        {
            return false;
        }

        found = _base;
        foreach (LogEntry e in _entries)
        {
            if (e.Zxid > zxid)
            {
                break;
            }

            found = e.Zxid;
        }

        return true;
    }
}
