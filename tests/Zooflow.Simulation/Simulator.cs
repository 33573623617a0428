using System.Globalization;
using System.Text;
using Zooflow.Consensus;
using Zooflow.Consensus.Messages;
using Zooflow.DataTree;
using Zooflow.Jute;

namespace Zooflow.Simulation;

/// <summary>Faults in the simulated driver (not in the core), for the simulator's self-tests.</summary>
public sealed record DriverFaults
{
    public static DriverFaults None { get; } = new();

    /// <summary>Send a Ready's messages before persisting its writes (breaks "ACK means durable").</summary>
    public bool SendBeforePersist { get; init; }
}

/// <summary>What a run is made of, drawn from its seed (the shape is given).</summary>
public sealed record SimConfig
{
    public required int Voters { get; init; }

    public required int Observers { get; init; }

    public double DropRate { get; init; }

    public double DuplicateRate { get; init; }

    public double ReorderRate { get; init; }

    public int ReorderDelayMax { get; init; }

    /// <summary>Ticks of faults before the cluster is healed.</summary>
    public int ChaosTicks { get; init; }

    /// <summary>Ticks after healing within which a leader must serve, a write must commit and every server catch up.</summary>
    public int HealTicksMax { get; init; }

    /// <summary>Client operations per tick.</summary>
    public double OpsPerTick { get; init; }

    /// <summary>Average ticks between nemesis actions.</summary>
    public int NemesisEveryTicks { get; init; }

    public int SnapshotEvery { get; init; }

    public int LogRetain { get; init; }

    public int DiffEntriesMax { get; init; }

    /// <summary>Most time units an fsync takes (0: persisting is instantaneous).</summary>
    public int FsyncLatencyMax { get; init; }

    public static SimConfig FromSeed(SimRandom random, int voters, int observers) => new()
    {
        Voters = voters,
        Observers = observers,
        DropRate = random.Chance(0.25) ? 0 : random.NextDouble() * 0.04,
        DuplicateRate = random.NextDouble() * 0.03,
        ReorderRate = random.NextDouble() * 0.3,
        ReorderDelayMax = random.Between(2, 25),
        ChaosTicks = random.Between(150, 350),
        HealTicksMax = 400,
        OpsPerTick = 0.3 + (random.NextDouble() * 2.5),
        NemesisEveryTicks = random.Between(8, 40),
        SnapshotEvery = random.Between(10, 80),
        LogRetain = random.Between(0, 40),
        DiffEntriesMax = random.Between(5, 200),
        FsyncLatencyMax = random.Chance(0.2) ? 0 : random.Between(1, 8),
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Voters} voters + {Observers} observers, drop {DropRate:P1}, dup {DuplicateRate:P1}, reorder {ReorderRate:P0} (≤{ReorderDelayMax}), " +
        $"chaos {ChaosTicks} ticks, {OpsPerTick:F1} ops/tick, nemesis every ~{NemesisEveryTicks} ticks, snapshot every {SnapshotEvery}, " +
        $"retain {LogRetain}, diff max {DiffEntriesMax}, fsync ≤{FsyncLatencyMax}");
}

/// <summary>Counters of one run.</summary>
public sealed class SimStats
{
    public long Operations;
    public long Proposed;
    public long Acknowledged;
    public long Syncs;
    public long MessagesSent;
    public long MessagesDropped;
    public long MessagesDuplicated;
    public long MessagesDelivered;
    public int Crashes;
    public int Restarts;
    public int Partitions;
    public int SnapshotsSent;
    public int SnapshotsInstalled;
    public int Faults;
    public long Events;
}

/// <summary>
/// A deterministic simulation of a Zooflow ensemble (TigerBeetle's VOPR is the model): the unmodified consensus core and
/// the real znode tree on every server, with a simulated network (loss, duplication, reordering, partitions), disks
/// (writes lost before fsync, torn writes, crash and restart from what is durable) and clock (ticks). Everything
/// follows from the seed: <see cref="Run"/> with the same seed replays the same run exactly.
/// </summary>
public sealed class Simulator
{
    /// <summary>Simulated time units per tick; network delays are 1-3 units plus reordering delays.</summary>
    public const int TickLength = 10;

    private const long EventsMax = 3_000_000;

    private readonly PriorityQueue<SimEvent, (long Time, long Seq)> _events = new();
    private readonly SortedDictionary<long, SimNode> _nodes = [];
    private readonly List<string> _faultLog = [];
    private readonly List<string> _trace = [];
    private readonly SimRandom _workloadRandom;
    private readonly SimRandom _nemesisRandom;
    private readonly bool _traceOn;
    private long _seq;
    private int _cxid;
    private long _nextSyncId;
    private int _pathCounter;
    private readonly List<string> _paths = [];
    private readonly List<long> _sessions = [];
    private readonly HashSet<(long, int)> _acknowledgedWrites = [];

    public Simulator(ulong seed, int voters, int observers, ZabFaults? coreFaults = null, DriverFaults? driverFaults = null, bool trace = false)
    {
        Seed = seed;
        Random = new SimRandom(seed);
        Config = SimConfig.FromSeed(Random.Fork(), voters, observers);
        Faults = driverFaults ?? DriverFaults.None;
        _traceOn = trace;
        _workloadRandom = Random.Fork();
        _nemesisRandom = Random.Fork();
        Network = new SimNetwork(this, Random.Fork())
        {
            DropRate = Config.DropRate,
            DuplicateRate = Config.DuplicateRate,
            ReorderRate = Config.ReorderRate,
            ReorderDelayMax = Config.ReorderDelayMax,
        };
        var membership = new Membership(Enumerable.Range(1, voters).Select(i => (long)i), Enumerable.Range(voters + 1, observers).Select(i => (long)i));
        foreach (long id in membership.Members)
        {
            _nodes[id] = new SimNode(this, id, new ZabOptions
            {
                ServerId = id,
                Membership = membership,
                InitLimitTicks = 20,
                SyncLimitTicks = 10,
                PingIntervalTicks = 3,
                FinalizeWaitTicks = 1,
                ElectionResendTicksMin = 1,
                ElectionResendTicksMax = 16,
                DiffEntriesMax = Config.DiffEntriesMax,
                ApplyBatchMax = 64,
                CommittedLogCacheMax = 16,
                PendingProposalsMax = 500,
                Faults = coreFaults ?? ZabFaults.None,
            });
        }
    }

    public ulong Seed { get; }

    public SimRandom Random { get; }

    public SimConfig Config { get; }

    public DriverFaults Faults { get; }

    public SimNetwork Network { get; }

    public Checkers Checkers { get; } = new();

    public SimStats Stats { get; } = new();

    public long Now { get; private set; }

    public IReadOnlyDictionary<long, SimNode> Nodes => _nodes;

    // ---- events -----------------------------------------------------------------------------------------------------

    public abstract record SimEvent;

    public sealed record Delivery(ZabMessage Message) : SimEvent;

    private sealed record NodeTick(long Node, int Incarnation) : SimEvent;

    private sealed record Workload : SimEvent;

    private sealed record Nemesis : SimEvent;

    private sealed record HealAll : SimEvent;

    private sealed record Check : SimEvent;

    private sealed record FsyncDone(long Node, int Incarnation) : SimEvent;

    public void ScheduleFsync(SimNode node, int latency) => Schedule(latency, new FsyncDone(node.Id, node.Incarnation));

    /// <summary>The server a client wrote through applied its write: the client gets its answer.</summary>
    public void OnWriteAcknowledged(long session, int cxid, long zxid)
    {
        Checkers.OnAcknowledged(zxid);
        Stats.Acknowledged++;
        _acknowledgedWrites.Add((session, cxid));
    }

    public void Schedule(long delay, SimEvent e) => _events.Enqueue(e, (Now + delay, _seq++));

    // ---- the run ----------------------------------------------------------------------------------------------------

    /// <summary>Runs the whole schedule: chaos, heal, convergence, final checks. Throws <see cref="SimulationFailure"/>
    /// (its message starts with the seed) on any violation.</summary>
    public SimStats Run()
    {
        try
        {
            RunInner();
            return Stats;
        }
        catch (Exception ex) when (ex is SimulationFailure or ZabInvariantException or InvalidOperationException)
        {
            string checker = ex switch
            {
                SimulationFailure f => f.Checker,
                ZabInvariantException => "core-invariant",
                _ => "exception",
            };
            throw new SimulationFailure(checker, Describe(ex));
        }
    }

    private void RunInner()
    {
        foreach (SimNode node in _nodes.Values)
        {
            node.TickLength = Random.Between(TickLength * 8 / 10, TickLength * 12 / 10);
            node.Start();
            Schedule(1 + Random.Next(TickLength), new NodeTick(node.Id, node.Incarnation));
        }

        long healAt = (long)Config.ChaosTicks * TickLength;
        long stopWorkloadAt = healAt + (50L * TickLength);
        long deadline = healAt + ((long)Config.HealTicksMax * TickLength);
        Schedule(WorkloadGap(), new Workload());
        Schedule(NemesisGap(), new Nemesis());
        Schedule(healAt, new HealAll());
        Schedule(stopWorkloadAt, new Check());
        (long Session, int Cxid)? probe = null;
        long probeNode = -1;

        while (_events.TryDequeue(out SimEvent? e, out (long Time, long Seq) at))
        {
            if (++Stats.Events > EventsMax)
            {
                throw new SimulationFailure("runaway", $"more than {EventsMax} events");
            }

            Now = at.Time;
            switch (e)
            {
                case Delivery d:
                    if (_nodes[d.Message.To].PausedUntil > Now)
                    {
                        // A stopped process reads its socket when it resumes (TCP buffered the bytes).
                        Schedule(_nodes[d.Message.To].PausedUntil - Now + 1 + Random.Next(3), d);
                    }
                    else if (Network.CanDeliver(d.Message) && _nodes[d.Message.To].Up)
                    {
                        Stats.MessagesDelivered++;
                        if (_traceOn)
                        {
                            TraceLine($"deliver {d.Message}");
                        }

                        _nodes[d.Message.To].Step(d.Message);
                    }

                    break;
                case NodeTick t:
                    if (RunsNow(t.Node, t.Incarnation, t) is { } ticked)
                    {
                        ticked.Tick();
                        Schedule(ticked.TickLength, t);
                    }

                    break;
                case Workload:
                    if (Now < stopWorkloadAt)
                    {
                        SubmitRandomOperation();
                        Schedule(WorkloadGap(), e);
                    }

                    break;
                case Nemesis:
                    if (Now < healAt)
                    {
                        RunNemesis();
                        Schedule(NemesisGap(), e);
                    }

                    break;
                case HealAll:
                    HealEverything();
                    break;
                case FsyncDone f:
                    RunsNow(f.Node, f.Incarnation, f)?.FsyncCompleted();
                    break;
            }

            if (e is not Check)
            {
                continue;
            }

            // Once per tick after the workload stopped: a probe write must commit, then every server must catch up.
            if (probe is { } p && !_acknowledgedWrites.Contains(p) && !_nodes[probeNode].PendingWrites.Contains(p))
            {
                probe = null; // failed with a role change or a crash: the client retries
            }

            if (probe is null)
            {
                SimNode? serving = ServingNode();
                if (serving is not null)
                {
                    probe = SubmitWrite(serving, isProbe: true);
                    probeNode = serving.Id;
                }
            }

            bool probeAcked = probe is { } q && _acknowledgedWrites.Contains(q);
            if (probeAcked && Converged())
            {
                FinalChecks();
                return;
            }

            if (Now > deadline)
            {
                throw new SimulationFailure("liveness",
                    $"{Config.HealTicksMax} ticks after healing: probe {(probeAcked ? "committed" : "not committed")}, " +
                    $"last committed {Zxid.ToHex(Checkers.LastCommitted)}; servers: {string.Join("; ", _nodes.Values.Select(Describe))}");
            }

            Schedule(TickLength, e);
        }

        throw new SimulationFailure("liveness", "the event queue ran dry");
    }

    /// <summary>The server an event of <paramref name="incarnation"/> is for, if that process still runs and is not
    /// paused; a paused one gets the event again when it resumes, a crashed one never.</summary>
    private SimNode? RunsNow(long id, int incarnation, SimEvent e)
    {
        SimNode node = _nodes[id];
        if (!node.Up || node.Incarnation != incarnation)
        {
            return null;
        }

        if (node.PausedUntil > Now)
        {
            Schedule(node.PausedUntil - Now, e);
            return null;
        }

        return node;
    }

    private bool Converged()
    {
        long last = Checkers.LastCommitted;
        foreach (SimNode node in _nodes.Values)
        {
            if (!node.Up || !node.Status.IsServing || node.AppliedZxid != last || node.Status.CommittedZxid != last)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Trees identical once caught up: every replica's digest equals the digest of the committed sequence
    /// replayed into a fresh tree; every replica holds every acknowledged write.</summary>
    private void FinalChecks()
    {
        var reference = new ZnodeTree();
        foreach (long zxid in Checkers.Committed)
        {
            TxnEntry entry = TxnCodec.Deserialize(Checkers.RecordData(zxid));
            reference.Apply(entry.Header, entry.Txn);
        }

        ulong expected = reference.ComputeDigest();
        foreach (SimNode node in _nodes.Values)
        {
            Checkers.CheckAcknowledgedHeldBy(node.Id);
            ulong digest = node.Tree.ComputeDigest();
            if (digest != expected)
            {
                throw new SimulationFailure("trees",
                    $"server {node.Id} tree digest {digest:x16} differs from the committed sequence's {expected:x16} ({reference.NodeCount} nodes, {node.Tree.NodeCount} on the server)");
            }
        }
    }

    // ---- workload ---------------------------------------------------------------------------------------------------

    private long WorkloadGap() => Math.Max(1, (long)(TickLength / Config.OpsPerTick * (0.5 + _workloadRandom.NextDouble())));

    private long NemesisGap() => (long)Config.NemesisEveryTicks * TickLength / 2 + _nemesisRandom.Next(Config.NemesisEveryTicks * TickLength);

    private SimNode? ServingNode()
    {
        var serving = _nodes.Values.Where(n => n.Up && n.PausedUntil <= Now && n.Status.IsServing).ToList();
        return serving.Count == 0 ? null : _workloadRandom.Pick(serving);
    }

    private void SubmitRandomOperation()
    {
        SimNode? node = ServingNode();
        if (node is null)
        {
            return;
        }

        if (_workloadRandom.Chance(0.1))
        {
            long syncId = ++_nextSyncId;
            node.PendingSyncs.Add(syncId);
            Checkers.OnSyncIssued(node.Id, syncId);
            Stats.Syncs++;
            node.Step(new RequestSync(syncId));
            return;
        }

        SubmitWrite(node, isProbe: false);
    }

    /// <summary>A client write at <paramref name="node"/>: a real ZooKeeper transaction, forwarded to the leader (looped
    /// back on the leader itself), which stamps the zxid and proposes it.</summary>
    private (long Session, int Cxid) SubmitWrite(SimNode node, bool isProbe)
    {
        SimRandom r = _workloadRandom;
        int cxid = ++_cxid;
        long session = 0x1000 + r.Next(8);
        (OpCode type, object txn) = isProbe
            ? (OpCode.Create, new CreateTxn($"/probe{cxid}", [1], Acl.OpenAclUnsafe, false, 0))
            : r.Next(100) switch
            {
                < 45 => NewNode(r),
                < 70 => (OpCode.SetData, new SetDataTxn(AnyPath(r), [(byte)r.Next(256), (byte)cxid], r.Next(1000))),
                < 80 => (OpCode.Delete, new DeleteTxn(AnyPath(r))),
                < 86 => NewSession(r),
                < 94 => (OpCode.Create, new CreateTxn($"/e{++_pathCounter}", [2], Acl.OpenAclUnsafe, true, 0)),
                < 97 => (OpCode.CloseSession, new CloseSessionTxn([])),
                _ => (OpCode.Error, new ErrorTxn(ErrorCode.NoNode)),
            };
        if (type == OpCode.CreateSession || (type == OpCode.Create && ((CreateTxn)txn).Ephemeral) || type == OpCode.CloseSession)
        {
            session = _sessions.Count > 0 ? r.Pick(_sessions) : session;
        }

        var header = new TxnHeader(session, cxid, 0, 0, type);
        node.PendingWrites.Add((session, cxid));
        Stats.Operations++;
        node.Step(new ForwardRequest(TxnCodec.Serialize(header, txn)));
        return (session, cxid);
    }

    private (OpCode, object) NewNode(SimRandom r)
    {
        string parent = _paths.Count > 0 && r.Chance(0.3) ? r.Pick(_paths) : "";
        string path = $"{parent}/n{++_pathCounter}";
        if (_paths.Count < 2000)
        {
            _paths.Add(path);
        }

        return (OpCode.Create, new CreateTxn(path, [(byte)r.Next(256)], Acl.OpenAclUnsafe, false, r.Next(5)));
    }

    private (OpCode, object) NewSession(SimRandom r)
    {
        long session = 0x10_0000 + _sessions.Count;
        _sessions.Add(session);
        return (OpCode.CreateSession, new CreateSessionTxn(r.Between(2000, 30000)));
    }

    private string AnyPath(SimRandom r) => _paths.Count > 0 ? r.Pick(_paths) : "/none";

    // ---- nemesis ----------------------------------------------------------------------------------------------------

    private void RunNemesis()
    {
        SimRandom r = _nemesisRandom;
        var up = _nodes.Values.Where(n => n.Up).ToList();
        var down = _nodes.Values.Where(n => !n.Up).ToList();
        SimNode? leader = up.FirstOrDefault(n => n.Status.State == PeerState.Leading);
        int roll = r.Next(100);
        if (roll < 25 && up.Count > 0)
        {
            SimNode victim = leader is not null && r.Chance(0.5) ? leader : r.Pick(up);
            RecordFault($"crash {victim.Id}{(victim == leader ? " (leader)" : "")}");
            CrashNode(victim, alreadyCrashedDisk: false);
        }
        else if (roll < 55 && down.Count > 0)
        {
            SimNode back = r.Pick(down);
            RecordFault($"restart {back.Id}");
            RestartNode(back);
        }
        else if (roll < 70)
        {
            var ids = _nodes.Keys.ToList();
            List<long> side = leader is not null && r.Chance(0.5)
                ? [leader.Id]
                : [.. ids.Where(_ => r.Chance(0.5))];
            if (side.Count == 0 || side.Count == ids.Count)
            {
                side = [r.Pick(ids)];
            }

            Stats.Partitions++;
            RecordFault($"partition [{string.Join(' ', side)}] from the rest");
            Network.Partition(side, ids);
        }
        else if (roll < 80)
        {
            if (Network.IsPartitioned)
            {
                RecordFault("heal partition");
                Network.Heal();
            }
        }
        else if (roll < 88 && up.Count > 0)
        {
            SimNode victim = leader is not null && r.Chance(0.6) ? leader : r.Pick(up);
            int ticks = r.Between(3, 40);
            RecordFault($"pause {victim.Id}{(victim == leader ? " (leader)" : "")} for {ticks} ticks");
            victim.PausedUntil = Math.Max(victim.PausedUntil, Now + ((long)ticks * TickLength));
        }
        else if (up.Count > 0)
        {
            SimNode victim = leader is not null && r.Chance(0.5) ? leader : r.Pick(up);
            RecordFault($"arm power loss during next persist on {victim.Id}");
            victim.CrashDuringNextPersist = true;
        }
    }

    public void CrashNode(SimNode node, bool alreadyCrashedDisk)
    {
        node.PausedUntil = 0;
        if (!alreadyCrashedDisk)
        {
            (int kept, int written) = node.Disk.Crash(Random);
            if (written > 0)
            {
                RecordFault($"  {node.Id} lost {written - kept} of {written} unsynced writes");
            }
        }

        node.Crash();
        Stats.Crashes++;
        TraceLine($"{node.Id}: crashed");
    }

    private void RestartNode(SimNode node)
    {
        Stats.Restarts++;
        node.Start();
        Schedule(1 + Random.Next(TickLength), new NodeTick(node.Id, node.Incarnation));
        TraceLine($"{node.Id}: restarted");
    }

    private void HealEverything()
    {
        RecordFault("heal: restart every server, clean network");
        Network.Clean();
        foreach (SimNode node in _nodes.Values.Where(n => !n.Up))
        {
            RestartNode(node);
        }

        foreach (SimNode node in _nodes.Values)
        {
            node.CrashDuringNextPersist = false;
            node.PausedUntil = Math.Min(node.PausedUntil, Now);
        }
    }

    // ---- reporting --------------------------------------------------------------------------------------------------

    public void RecordFault(string text)
    {
        Stats.Faults++;
        _faultLog.Add(string.Create(CultureInfo.InvariantCulture, $"t={Now / TickLength}.{Now % TickLength} {text}"));
        TraceLine(text);
    }

    public void TraceLine(string text)
    {
        if (_traceOn)
        {
            _trace.Add(string.Create(CultureInfo.InvariantCulture, $"t={Now / TickLength}.{Now % TickLength} {text}"));
        }
    }

    private static string Describe(SimNode n) =>
        n.Up
            ? $"{n.Id} {n.Status.ServerStateName}/{n.Status.Phase} leader={n.Status.LeaderId} epoch={n.Status.AcceptedEpoch}/{n.Status.CurrentEpoch} applied={Zxid.ToHex(n.AppliedZxid)} committed={Zxid.ToHex(n.Status.CommittedZxid)} last={Zxid.ToHex(n.Status.LastZxid)}"
            : $"{n.Id} down";

    private string Describe(Exception ex)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"seed {Seed} failed at t={Now / TickLength}: {ex.Message}\n");
        text.Append(CultureInfo.InvariantCulture, $"  replay: ZOOFLOW_SIM_SEED={Seed} ZOOFLOW_SIM_SHAPE={Config.Voters}+{Config.Observers} dotnet test --project tests/Zooflow.Simulation\n");
        text.Append(CultureInfo.InvariantCulture, $"  config: {Config}\n");
        text.Append(CultureInfo.InvariantCulture, $"  servers: {string.Join("; ", _nodes.Values.Select(Describe))}\n");
        text.Append(CultureInfo.InvariantCulture, $"  faults ({_faultLog.Count}):\n");
        foreach (string fault in _faultLog.TakeLast(40))
        {
            text.Append("    ").Append(fault).Append('\n');
        }

        if (ex is not SimulationFailure)
        {
            text.Append(ex).Append('\n');
        }

        if (_traceOn)
        {
            text.Append("  trace (last 300 lines):\n");
            foreach (string line in _trace.TakeLast(300))
            {
                text.Append("    ").Append(line).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>The trace of a run created with <c>trace: true</c>.</summary>
    public IReadOnlyList<string> Trace => _trace;

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"seed {Seed}: {Stats.Operations} ops ({Stats.Acknowledged} acknowledged, {Stats.Syncs} syncs), {Stats.Faults} faults " +
        $"({Stats.Crashes} crashes, {Stats.Partitions} partitions), {Checkers.EpochLeaders.Count} epochs, " +
        $"{Stats.SnapshotsSent} snapshots sent, {Stats.MessagesDelivered}/{Stats.MessagesSent} messages delivered, " +
        $"last zxid {Zxid.ToHex(Checkers.LastCommitted)}");
}
