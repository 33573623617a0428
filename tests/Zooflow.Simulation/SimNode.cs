using Zooflow.Consensus;
using Zooflow.Consensus.Messages;
using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Persistence;

namespace Zooflow.Simulation;

/// <summary>
/// One simulated server: the unmodified <see cref="ZabNode"/>, a real <see cref="ZnodeTree"/> as its state machine, a
/// <see cref="SimDisk"/>, and a driver that follows the contract — persist (fsync), then send, then apply, then
/// advance — unless the run injects a driver fault to prove the checkers notice.
/// </summary>
public sealed class SimNode
{
    private readonly Simulator _sim;
    private readonly List<long> _recentApplied = [];
    private int _appliedSinceSnapshot;

    public SimNode(Simulator sim, long id, ZabOptions options)
    {
        _sim = sim;
        Id = id;
        BaseOptions = options;
        Disk = new SimDisk();
    }

    public long Id { get; }

    public ZabOptions BaseOptions { get; }

    public SimDisk Disk { get; }

    public ZabNode? Core { get; private set; }

    public ZnodeTree Tree { get; private set; } = new();

    public bool Up => Core is not null;

    /// <summary>Simulated time until which the process is stopped (SIGSTOP): it neither ticks nor reads messages.</summary>
    public long PausedUntil { get; set; }

    /// <summary>This server's clock: time units per tick (clocks drift apart by up to ±20 %).</summary>
    public int TickLength { get; set; } = Simulator.TickLength;

    public int Incarnation { get; private set; }

    public ZabStatus Status { get; private set; }

    public long AppliedZxid { get; private set; }

    /// <summary>Crash in the middle of the next persist (the fault "power loss before fsync").</summary>
    public bool CrashDuringNextPersist { get; set; }

    /// <summary>Client writes accepted here and not yet answered: (session, cxid).</summary>
    public HashSet<(long Session, int Cxid)> PendingWrites { get; } = [];

    /// <summary>Syncs issued here and not yet answered.</summary>
    public HashSet<long> PendingSyncs { get; } = [];

    public void Start()
    {
        Incarnation++;
        SnapshotData? snapshot = Disk.Snapshot;
        Tree = snapshot is null ? new ZnodeTree() : TreeSnapshot.Load(new MemoryStream(snapshot.Data.ToArray()), snapshot.Zxid);
        AppliedZxid = snapshot?.Zxid ?? 0;
        _recentApplied.Clear();
        _appliedSinceSnapshot = 0;
        _sim.Checkers.OnStateReset(Id, AppliedZxid);
        Core = new ZabNode(BaseOptions with { RandomSeed = _sim.Random.NextULong() }, Disk, AppliedZxid);
        Status = Core.Status;
        Process();
    }

    public void Crash()
    {
        Core = null;
        _persisting = null;
        PendingWrites.Clear();
        PendingSyncs.Clear();
        CrashDuringNextPersist = false;
    }

    /// <summary>The Ready whose writes are on their way to disk (an fsync in progress), if any.</summary>
    private Ready? _persisting;

    /// <summary>The driver loop: carry out every Ready the core has. With a disk latency, a Ready waits for its fsync
    /// (<see cref="FsyncCompleted"/>) while the core keeps receiving messages and ticks.</summary>
    public void Process()
    {
        while (Core is not null && _persisting is null && Core.TryGetReady(out Ready? ready))
        {
            if (!Begin(ready))
            {
                return;
            }

            int latency = _sim.Config.FsyncLatencyMax == 0 ? 0 : _sim.Random.Next(_sim.Config.FsyncLatencyMax + 1);
            if (ready.MustPersist && latency > 0)
            {
                _persisting = ready;
                _sim.ScheduleFsync(this, latency);
                return;
            }

            Complete(Core, ready);
        }
    }

    /// <summary>The fsync of the Ready in flight finished: send, apply, advance, and go on.</summary>
    public void FsyncCompleted()
    {
        if (Core is not null && _persisting is Ready ready)
        {
            _persisting = null;
            Complete(Core, ready);
            Process();
        }
    }

    public void Step(ZabInput input)
    {
        if (Core is null)
        {
            return;
        }

        Core.Step(input);

        Process();
    }

    public void Tick()
    {
        if (Core is null)
        {
            return;
        }

        Core.Tick();

        Process();
    }

    /// <summary>Notes the Ready and writes it (unsynced). False when the node crashed while writing.</summary>
    private bool Begin(Ready ready)
    {
        Status = ready.Status;
        _sim.Checkers.OnStatus(Id, ready.Status);
        if (ready.RoleChanged)
        {
            _sim.TraceLine($"{Id}: {ready.Status.State} {ready.Status.Phase} leader={ready.Status.LeaderId} epoch={ready.Status.CurrentEpoch} serving={ready.Status.IsServing}");
            if (!ready.Status.IsServing)
            {
                // ZooKeeper closes client connections when a server leaves its role: pending requests get ConnectionLoss.
                PendingWrites.Clear();
            }
        }

        foreach (ZabEvent e in ready.Events)
        {
            _sim.TraceLine($"{Id}: {e}");
        }

        // Driver fault for the self-test: messages leave before the writes they promise are durable.
        if (_sim.Faults.SendBeforePersist)
        {
            Send(ready);
        }

        // 1. Persist (written now, durable at the fsync).
        Disk.Write(ready);
        if (CrashDuringNextPersist && ready.MustPersist)
        {
            (int kept, int written) = Disk.Crash(_sim.Random);
            _sim.RecordFault($"power loss on {Id} during persist: {kept} of {written} writes survived");
            _sim.CrashNode(this, alreadyCrashedDisk: true);
            return false;
        }

        return true;
    }

    private void Complete(ZabNode core, Ready ready)
    {
        Disk.Fsync();

        // 2. Send.
        if (!_sim.Faults.SendBeforePersist)
        {
            Send(ready);
        }

        // 3. Apply.
        if (ready.InstallSnapshot is SnapshotData snapshot)
        {
            Tree = TreeSnapshot.Load(new MemoryStream(snapshot.Data.ToArray()), snapshot.Zxid);
            AppliedZxid = snapshot.Zxid;
            _recentApplied.Clear();
            _sim.Checkers.OnStateReset(Id, snapshot.Zxid);
            _sim.Stats.SnapshotsInstalled++;
        }

        foreach (LogEntry e in ready.CommittedEntries)
        {
            Apply(e);
        }

        foreach (long sync in ready.CompletedSyncs)
        {
            if (PendingSyncs.Remove(sync))
            {
                _sim.Checkers.OnSyncCompleted(Id, sync);
            }
        }

        foreach (long sync in ready.AbortedSyncs)
        {
            PendingSyncs.Remove(sync);
            _sim.Checkers.OnSyncAborted(Id, sync);
        }

        // 4. Hand over: the leader prepares forwarded requests into transactions and proposes them.
        foreach (ForwardedRequest request in ready.ForwardedRequests)
        {
            ProposeRequest(core, request);
        }

        core.Advance(ready);

        foreach (long learner in ready.SnapshotRequests)
        {
            core.Step(new ProvideSnapshot(learner, new SnapshotData(AppliedZxid, SerializeTree())));
            _sim.Stats.SnapshotsSent++;
        }

        MaybeTakeSnapshot();
    }

    private void Send(Ready ready)
    {
        foreach (ZabMessage m in ready.Messages)
        {
            _sim.Network.Send(m);
        }
    }

    private void Apply(LogEntry e)
    {
        if (e.Zxid <= AppliedZxid)
        {
            throw new SimulationFailure("prefix", $"server {Id} was handed {Zxid.ToHex(e.Zxid)} to apply after {Zxid.ToHex(AppliedZxid)}");
        }

        TxnEntry txn = TxnCodec.Deserialize(e.Data);
        if (txn.Header.Zxid != e.Zxid)
        {
            throw new SimulationFailure("prefix", $"record {Zxid.ToHex(e.Zxid)} carries header zxid {Zxid.ToHex(txn.Header.Zxid)}");
        }

        Tree.Apply(txn.Header, txn.Txn);
        AppliedZxid = e.Zxid;
        _sim.Checkers.OnApplied(Id, e);
        if (PendingWrites.Remove((txn.Header.ClientId, txn.Header.Cxid)))
        {
            _sim.OnWriteAcknowledged(txn.Header.ClientId, txn.Header.Cxid, e.Zxid);
        }

        _recentApplied.Add(e.Zxid);
        _appliedSinceSnapshot++;
    }

    private void ProposeRequest(ZabNode core, ForwardedRequest request)
    {
        // The leader's prep stage: stamp the zxid and time into the transaction, then propose it.
        TxnEntry prepared = TxnCodec.Deserialize(request.Data);
        long zxid = core.Status.NextZxid;
        TxnHeader header = prepared.Header with { Zxid = zxid, Time = _sim.Now };
        ProposeResult result = core.Propose(TxnCodec.Serialize(header, prepared.Txn));
        if (result.IsAccepted)
        {
            if (result.Zxid != zxid)
            {
                throw new SimulationFailure("driver", $"Propose gave {Zxid.ToHex(result.Zxid)}, Status.NextZxid said {Zxid.ToHex(zxid)}");
            }

            _sim.Stats.Proposed++;
        }
    }

    private void MaybeTakeSnapshot()
    {
        if (_appliedSinceSnapshot < _sim.Config.SnapshotEvery || AppliedZxid == 0)
        {
            return;
        }

        _appliedSinceSnapshot = 0;
        Disk.SaveSnapshot(new SnapshotData(AppliedZxid, SerializeTree()));
        int keep = _sim.Config.LogRetain;
        if (_recentApplied.Count > keep)
        {
            Disk.PurgeThrough(_recentApplied[^(keep + 1)]);
            _recentApplied.RemoveRange(0, _recentApplied.Count - keep);
        }
    }

    private byte[] SerializeTree()
    {
        using var stream = new MemoryStream();
        TreeSnapshot.Write(stream, Tree);
        return stream.ToArray();
    }
}
