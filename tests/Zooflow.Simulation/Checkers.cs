using Zooflow.Consensus;

namespace Zooflow.Simulation;

/// <summary>A checker found a violation; the simulator reports it with the seed that reproduces it.</summary>
public sealed class SimulationFailure(string checker, string message) : Exception($"[{checker}] {message}")
{
    public string Checker { get; } = checker;
}

/// <summary>
/// The simulator's safety checkers, fed by the simulated drivers as things happen (TigerBeetle's state checker is the
/// model). Each check names what it guards:
/// <list type="bullet">
/// <item><b>one-leader-per-epoch</b>: at most one server ever leads (quorum-acknowledged) a given epoch, over the whole
/// run, across crashes (Zab paper §III, Leadership; Zab.tla Leadership1).</item>
/// <item><b>prefix</b>: every server applies committed records in the same order: its applied sequence is always a prefix
/// of the single global committed sequence, with the same payload at every zxid (Zab paper: total order, agreement,
/// primary order; Zab.tla PrefixConsistency).</item>
/// <item><b>durability</b>: every write acknowledged to a client stays in that sequence for good, and every caught-up
/// server holds it at the end, after any crashes (Zab paper: reliable delivery).</item>
/// <item><b>sync</b>: a sync completes only when its server has applied every record applied anywhere before the sync
/// was issued (docs/consensus.md, "What a read after sync sees").</item>
/// </list>
/// </summary>
public sealed class Checkers
{
    private readonly Dictionary<long, long> _epochLeaders = [];
    private readonly List<long> _committed = [];
    private readonly Dictionary<long, (ulong Hash, byte[] Data)> _records = [];
    private readonly Dictionary<long, int> _position = [];
    private readonly Dictionary<long, long> _acknowledged = [];
    private readonly Dictionary<(long Node, long SyncId), long> _syncs = [];

    public IReadOnlyList<long> Committed => _committed;

    public long LastCommitted => _committed.Count > 0 ? _committed[^1] : 0;

    public int Acknowledged => _acknowledged.Count;

    public int SyncsChecked { get; private set; }

    public IReadOnlyDictionary<long, long> EpochLeaders => _epochLeaders;

    public byte[] RecordData(long zxid) => _records[zxid].Data;

    public void OnStatus(long node, ZabStatus status)
    {
        if (status.State == PeerState.Leading && status.Phase >= ZabPhase.Synchronization)
        {
            if (_epochLeaders.TryGetValue(status.CurrentEpoch, out long leader) && leader != node)
            {
                throw new SimulationFailure("one-leader-per-epoch", $"epoch {status.CurrentEpoch} led by {leader} and by {node}");
            }

            _epochLeaders[status.CurrentEpoch] = node;
        }
    }

    /// <summary>The server's state machine was reset to <paramref name="zxid"/> (restart from snapshot, or SNAP).</summary>
    public void OnStateReset(long node, long zxid)
    {
        if (zxid == 0)
        {
            _position[node] = -1;
            return;
        }

        int index = _committed.BinarySearch(zxid);
        if (index < 0)
        {
            throw new SimulationFailure("prefix", $"server {node} reset its state to {Zxid.ToHex(zxid)}, which was never committed");
        }

        _position[node] = index;
    }

    public void OnApplied(long node, LogEntry entry)
    {
        int index = (_position.TryGetValue(node, out int p) ? p : -1) + 1;
        ulong hash = Hash(entry.Data.Span);
        if (index < _committed.Count)
        {
            long expected = _committed[index];
            if (expected != entry.Zxid || _records[expected].Hash != hash)
            {
                throw new SimulationFailure("prefix",
                    $"server {node} applied {Zxid.ToHex(entry.Zxid)} as committed record #{index}, where {Zxid.ToHex(expected)} was applied before" +
                    (_acknowledged.ContainsKey(expected) ? " (an acknowledged write: lost)" : ""));
            }
        }
        else
        {
            if (_committed.Count > 0 && entry.Zxid <= _committed[^1])
            {
                throw new SimulationFailure("prefix", $"server {node} applied {Zxid.ToHex(entry.Zxid)} after {Zxid.ToHex(_committed[^1])}");
            }

            _committed.Add(entry.Zxid);
            _records[entry.Zxid] = (hash, entry.Data.ToArray());
        }

        _position[node] = index;
    }

    public long AppliedZxid(long node) =>
        _position.TryGetValue(node, out int p) && p >= 0 ? _committed[p] : 0;

    public void OnAcknowledged(long zxid)
    {
        if (_committed.BinarySearch(zxid) < 0)
        {
            throw new SimulationFailure("durability", $"write {Zxid.ToHex(zxid)} acknowledged but not in the committed sequence");
        }

        _acknowledged[zxid] = zxid;
    }

    public void OnSyncIssued(long node, long syncId) => _syncs[(node, syncId)] = LastCommitted;

    public void OnSyncCompleted(long node, long syncId)
    {
        if (!_syncs.Remove((node, syncId), out long mustSee))
        {
            throw new SimulationFailure("sync", $"server {node} completed sync {syncId} it never issued, or twice");
        }

        long applied = AppliedZxid(node);
        if (applied < mustSee)
        {
            throw new SimulationFailure("sync",
                $"sync {syncId} on server {node} completed at {Zxid.ToHex(applied)}, before {Zxid.ToHex(mustSee)} which was applied elsewhere before the sync began");
        }

        SyncsChecked++;
    }

    public void OnSyncAborted(long node, long syncId) => _syncs.Remove((node, syncId));

    /// <summary>End of run: every caught-up server holds every acknowledged write.</summary>
    public void CheckAcknowledgedHeldBy(long node)
    {
        long applied = AppliedZxid(node);
        foreach (long zxid in _acknowledged.Keys)
        {
            if (zxid > applied)
            {
                throw new SimulationFailure("durability", $"caught-up server {node} (at {Zxid.ToHex(applied)}) lacks acknowledged write {Zxid.ToHex(zxid)}");
            }
        }
    }

    private static ulong Hash(ReadOnlySpan<byte> data)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in data)
        {
            h = (h ^ b) * 1099511628211UL;
        }

        return h;
    }
}
