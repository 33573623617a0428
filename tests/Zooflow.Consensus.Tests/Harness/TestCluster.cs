using System.Globalization;
using System.Text;
using Zooflow.Consensus.Messages;

namespace Zooflow.Consensus.Tests.Harness;

/// <summary>
/// A hand-driven ensemble of <see cref="ZabNode"/>s for unit tests and data-driven scripts: messages wait in
/// <see cref="InFlight"/> until a test delivers (or drops) them; each node's Readies are carried out by a minimal driver
/// that follows the contract (persist to <see cref="MemoryStorage"/>, then send, then apply to a list of strings, then
/// Advance). Everything that happens is written to <see cref="Trace"/> in a readable form.
/// </summary>
internal sealed class TestCluster
{
    private readonly HashSet<(long, long)> _cut = [];
    private readonly Dictionary<long, int> _linkNames = [];
    private readonly Func<ZabOptions, ZabOptions> _configure;
    private ulong _seeds = 1;

    public TestCluster(IEnumerable<long> voters, IEnumerable<long>? observers = null, Func<ZabOptions, ZabOptions>? configure = null,
        IReadOnlyDictionary<long, MemoryStorage>? storages = null)
    {
        Membership = new Membership(voters, observers);
        _configure = configure ?? (o => o);
        foreach (long id in Membership.Members)
        {
            Nodes[id] = new TestNode(id, storages?.GetValueOrDefault(id) ?? new MemoryStorage());
            Start(Nodes[id]);
        }
    }

    /// <summary>Every message any node sent, in order.</summary>
    public List<ZabMessage> Sent { get; } = [];

    public Membership Membership { get; }

    public SortedDictionary<long, TestNode> Nodes { get; } = [];

    public List<ZabMessage> InFlight { get; } = [];

    public StringBuilder Trace { get; } = new();

    /// <summary>When false, <see cref="ZabEvent"/>s are not traced (keeps election-heavy scripts short).</summary>
    public bool TraceEvents { get; set; } = true;

    /// <summary>When false, pings and their replies are neither traced nor kept in flight once delivered in bulk.</summary>
    public bool TracePings { get; set; } = true;

    public TestNode this[long id] => Nodes[id];

    /// <summary>Options every node starts with: small limits so scripts stay short.</summary>
    public ZabOptions OptionsFor(long id) => _configure(new ZabOptions
    {
        ServerId = id,
        Membership = Membership,
        InitLimitTicks = 10,
        SyncLimitTicks = 5,
        PingIntervalTicks = 2,
        FinalizeWaitTicks = 0,
        ElectionResendTicksMin = 2,
        ElectionResendTicksMax = 8,
        RandomSeed = _seeds++,
    });

    private void Start(TestNode node)
    {
        node.Options = OptionsFor(node.Id);
        node.Core = new ZabNode(node.Options, node.Storage, node.Storage.Snapshot?.Zxid ?? 0);
        node.Up = true;
    }

    // ---- driving ---------------------------------------------------------------------------------------------------

    public void Tick(long id, int times = 1)
    {
        for (int i = 0; i < times; i++)
        {
            if (Nodes[id].Up)
            {
                Nodes[id].Core.Tick();
                Process(id);
            }
        }
    }

    public void TickAll(int times = 1)
    {
        for (int i = 0; i < times; i++)
        {
            foreach (long id in Nodes.Keys)
            {
                Tick(id);
            }
        }
    }

    /// <summary>Carries out every Ready of <paramref name="id"/> (the driver loop). Returns how many.</summary>
    public int Process(long id)
    {
        TestNode node = Nodes[id];
        int count = 0;
        while (node.Up && node.Core.TryGetReady(out Ready? ready))
        {
            count++;
            HandleReady(node, ready);
        }

        return count;
    }

    public void ProcessAll()
    {
        foreach (long id in Nodes.Keys)
        {
            Process(id);
        }
    }

    private void HandleReady(TestNode node, Ready ready)
    {
        long id = node.Id;
        node.Status = ready.Status;
        if (ready.RoleChanged)
        {
            ZabStatus s = ready.Status;
            Line($"{id}: role {s.State} leader={s.LeaderId} epoch={s.AcceptedEpoch}/{s.CurrentEpoch} serving={s.IsServing.ToString().ToLowerInvariant()}");
        }

        // 1. persist: log writes, then hard state
        if (ready.InstallSnapshot is SnapshotData snapshot)
        {
            Line($"{id}: persist {snapshot} = [{Encoding.UTF8.GetString(snapshot.Data.Span)}]");
        }

        if (ready.TruncateAfterZxid is long truncate)
        {
            Line($"{id}: persist truncate after {Zxid.ToHex(truncate)}");
        }

        if (ready.Entries.Count > 0)
        {
            Line($"{id}: persist append {string.Join(' ', ready.Entries.Select(Describe))}");
        }

        if (ready.HardState is HardState hard)
        {
            Line($"{id}: persist hardstate {hard}");
        }

        node.Storage.Persist(ready);

        // 2. send
        foreach (ZabMessage m in ready.Messages)
        {
            InFlight.Add(m);
            Sent.Add(m);
            if (TracePings || m is not (Ping or PingReply))
            {
                Line($"{Format(m)}");
            }
        }

        // 3. apply
        if (ready.InstallSnapshot is SnapshotData installed)
        {
            node.Applied.Clear();
            node.Applied.AddRange(ParseSnapshot(installed));
        }

        foreach (LogEntry e in ready.CommittedEntries)
        {
            node.Applied.Add((e.Zxid, Encoding.UTF8.GetString(e.Data.Span)));
        }

        if (ready.CommittedEntries.Count > 0)
        {
            Line($"{id}: apply {string.Join(' ', ready.CommittedEntries.Select(Describe))}");
        }

        foreach (long sync in ready.CompletedSyncs)
        {
            node.CompletedSyncs.Add(sync);
            Line($"{id}: sync {sync} done at {Zxid.ToHex(node.AppliedZxid)}");
        }

        foreach (long sync in ready.AbortedSyncs)
        {
            node.AbortedSyncs.Add(sync);
            Line($"{id}: sync {sync} aborted");
        }

        // 4. hand over
        foreach (ForwardedRequest f in ready.ForwardedRequests)
        {
            string text = Encoding.UTF8.GetString(f.Data.Span);
            node.Forwarded.Add((f.From, text));
            Line($"{id}: forwarded from {f.From}: {text}");
        }

        foreach (SessionReport r in ready.SessionReports)
        {
            string text = Encoding.UTF8.GetString(r.Data.Span);
            node.SessionReports.Add((r.From, text));
            Line($"{id}: session report from {r.From}: {text}");
        }

        if (TraceEvents)
        {
            foreach (ZabEvent e in ready.Events)
            {
                Line($"{id}: event {e}");
            }
        }

        node.Core.Advance(ready);

        foreach (long learner in ready.SnapshotRequests)
        {
            var snap = new SnapshotData(node.AppliedZxid, Encoding.UTF8.GetBytes(string.Join(',', node.Applied.Select(a => $"{Zxid.ToHex(a.Zxid)}:{a.Value}"))));
            Line($"{id}: provide {snap} for {learner}");
            node.Core.Step(new ProvideSnapshot(learner, snap));
        }
    }

    private static IEnumerable<(long, string)> ParseSnapshot(SnapshotData snapshot)
    {
        string text = Encoding.UTF8.GetString(snapshot.Data.Span);
        if (text.Length == 0)
        {
            yield break;
        }

        foreach (string part in text.Split(','))
        {
            int colon = part.IndexOf(':', StringComparison.Ordinal);
            yield return (long.Parse(part[2..colon], NumberStyles.HexNumber, CultureInfo.InvariantCulture), part[(colon + 1)..]);
        }
    }

    /// <summary>Delivers (or drops) the in-flight messages matching <paramref name="filter"/> that are in flight now, in
    /// order; receivers process their Readies after each delivery. Returns how many matched.</summary>
    public int Deliver(Func<ZabMessage, bool>? filter = null, bool drop = false)
    {
        List<ZabMessage> batch = [.. InFlight.Where(m => filter?.Invoke(m) ?? true)];
        foreach (ZabMessage m in batch)
        {
            InFlight.Remove(m);
        }

        foreach (ZabMessage m in batch)
        {
            bool traced = TracePings || m is not (Ping or PingReply);
            if (drop)
            {
                if (traced)
                {
                    Line($"dropped {Format(m)}");
                }

                continue;
            }

            if (!Nodes[m.To].Up || _cut.Contains((m.From, m.To)))
            {
                if (traced)
                {
                    Line($"lost {Format(m)}");
                }

                continue;
            }

            Nodes[m.To].Core.Step(m);
            Process(m.To);
        }

        return batch.Count;
    }

    /// <summary>Delivers everything until no message is in flight and no node has work (bounded).</summary>
    public void Stabilize(int maxRounds = 200)
    {
        ProcessAll();
        for (int round = 0; round < maxRounds && InFlight.Count > 0; round++)
        {
            Deliver();
        }

        Assert.True(InFlight.Count == 0, $"not stable after {maxRounds} rounds: {InFlight.Count} messages in flight");
    }

    /// <summary>Ticks every node and stabilizes, <paramref name="times"/> times; a simple clock for elections.</summary>
    public void Run(int times)
    {
        for (int i = 0; i < times; i++)
        {
            TickAll();
            Stabilize();
        }
    }

    /// <summary>Runs until a leader is serving and every running learner is up to date (bounded).</summary>
    public long ElectAndSettle(int maxTicks = 100)
    {
        Stabilize();
        for (int i = 0; i < maxTicks; i++)
        {
            if (Settled(out long leader))
            {
                return leader;
            }

            TickAll();
            Stabilize();
        }

        Assert.Fail($"no settled leader within {maxTicks} ticks:\n{Trace}");
        return -1;
    }

    private bool Settled(out long leader)
    {
        leader = -1;
        foreach (TestNode n in Nodes.Values.Where(n => n.Up))
        {
            if (!n.Status.IsServing)
            {
                return false;
            }

            if (n.Status.State == PeerState.Leading)
            {
                leader = n.Id;
            }
        }

        return leader >= 0;
    }

    public ProposeResult Propose(long id, string value)
    {
        ProposeResult result = Nodes[id].Core.Propose(Encoding.UTF8.GetBytes(value));
        Line($"{id}: propose {value} -> {result.Status}{(result.IsAccepted ? " " + Zxid.ToHex(result.Zxid) : "")}");
        Process(id);
        return result;
    }

    public void StepLocal(long id, LocalInput input)
    {
        Nodes[id].Core.Step(input);
        Process(id);
    }

    public void Crash(long id)
    {
        Nodes[id].Up = false;
        InFlight.RemoveAll(m => m.To == id || m.From == id);
        Line($"{id}: crashed");
    }

    /// <summary>Restarts from storage: the state machine restarts from the newest snapshot.</summary>
    public void Restart(long id)
    {
        TestNode node = Nodes[id];
        node.Applied.Clear();
        if (node.Storage.Snapshot is SnapshotData snapshot)
        {
            node.Applied.AddRange(ParseSnapshot(snapshot));
        }

        Start(node);
        Line($"{id}: restarted with {node.Storage.HardState}, log to {Zxid.ToHex(node.Storage.LastZxid)}, applied {Zxid.ToHex(node.AppliedZxid)}");
        Process(id);
    }

    /// <summary>The driver snapshots its applied state and purges records up to <paramref name="through"/>.</summary>
    public void Compact(long id, long through)
    {
        TestNode node = Nodes[id];
        node.Storage.SaveSnapshot(new SnapshotData(node.AppliedZxid,
            Encoding.UTF8.GetBytes(string.Join(',', node.Applied.Select(a => $"{Zxid.ToHex(a.Zxid)}:{a.Value}")))));
        node.Storage.PurgeThrough(through);
        Line($"{id}: snapshot at {Zxid.ToHex(node.AppliedZxid)}, log purged through {Zxid.ToHex(through)}");
    }

    public void Partition(IReadOnlyCollection<long> side)
    {
        foreach (long a in side)
        {
            foreach (long b in Nodes.Keys.Where(k => !side.Contains(k)))
            {
                _cut.Add((a, b));
                _cut.Add((b, a));
            }
        }

        Line($"partition [{string.Join(' ', side)}] | [{string.Join(' ', Nodes.Keys.Where(k => !side.Contains(k)))}]");
    }

    public void Heal()
    {
        _cut.Clear();
        Line("healed");
    }

    // ---- formatting -------------------------------------------------------------------------------------------------

    private void Line(string text) => Trace.Append(text).Append('\n');

    public string TakeTrace()
    {
        string text = Trace.ToString();
        Trace.Clear();
        return text;
    }

    private static string Describe(LogEntry e) => $"{Zxid.ToHex(e.Zxid)}={Encoding.UTF8.GetString(e.Data.Span)}";

    private string Link(LinkMessage m)
    {
        if (!_linkNames.TryGetValue(m.LinkId, out int name))
        {
            name = _linkNames.Count + 1;
            _linkNames[m.LinkId] = name;
        }

        return $"[L{name}#{m.Seq}]";
    }

    public string Format(ZabMessage m)
    {
        string head = $"{m.From}->{m.To}";
        return m switch
        {
            Notification n => $"{head} Notification {n.State} round={n.Round} vote={n.Vote}",
            LinkReset r => $"{head} LinkReset {LinkName(r.LinkId)}",
            FollowerInfo f => $"{head} {(f.IsObserver ? "ObserverInfo" : "FollowerInfo")}{Link(f)} acceptedEpoch={f.AcceptedEpoch}",
            LeaderInfo l => $"{head} LeaderInfo{Link(l)} epoch={l.Epoch} answers={LinkName(l.LearnerNonce)}",
            AckEpoch a => $"{head} AckEpoch{Link(a)} epoch={a.Epoch} currentEpoch={a.CurrentEpoch} last={Zxid.ToHex(a.LastZxid)}{(a.AlreadyAccepted ? " already-accepted" : "")}",
            NewLeader nl => $"{head} NewLeader{Link(nl)} epoch={nl.Epoch} {nl.Mode} from={Zxid.ToHex(nl.TruncateZxid)}"
                + (nl.Snapshot is null ? "" : $" {nl.Snapshot}")
                + $" entries=[{string.Join(' ', nl.Entries.Select(Describe))}] committed={Zxid.ToHex(nl.CommittedZxid)}",
            AckNewLeader a => $"{head} AckNewLeader{Link(a)} epoch={a.Epoch}",
            UpToDate u => $"{head} UpToDate{Link(u)} committed={Zxid.ToHex(u.CommittedZxid)}",
            Proposal p => $"{head} Proposal{Link(p)} {Describe(p.Entry)}",
            Ack a => $"{head} Ack{Link(a)} {Zxid.ToHex(a.Zxid)}",
            Commit c => $"{head} Commit{Link(c)} {Zxid.ToHex(c.Zxid)}",
            Inform i => $"{head} Inform{Link(i)} {Describe(i.Entry)}",
            Ping p => $"{head} Ping{Link(p)} round={p.Round}",
            PingReply r => $"{head} PingReply{Link(r)} round={r.Round}"
                + (r.SessionReports.Count == 0 ? "" : $" sessions=[{string.Join(' ', r.SessionReports.Select(s => Encoding.UTF8.GetString(s.Span)))}]"),
            Request r => $"{head} Request{Link(r)} {Encoding.UTF8.GetString(r.Data.Span)}",
            SyncRequest s => $"{head} SyncRequest{Link(s)} id={s.SyncId}",
            SyncReply s => $"{head} SyncReply{Link(s)} id={s.SyncId}",
            _ => $"{head} {m}",
        };
    }

    private string LinkName(long linkId) => _linkNames.TryGetValue(linkId, out int name) ? $"L{name}" : "L?";
}

/// <summary>One server of a <see cref="TestCluster"/>: its core, storage and a list-of-strings state machine.</summary>
internal sealed class TestNode(long id, MemoryStorage storage)
{
    public long Id { get; } = id;

    public MemoryStorage Storage { get; } = storage;

    public ZabOptions Options { get; set; } = null!;

    public ZabNode Core { get; set; } = null!;

    public bool Up { get; set; }

    public ZabStatus Status { get; set; }

    public List<(long Zxid, string Value)> Applied { get; } = [];

    public long AppliedZxid => Applied.Count > 0 ? Applied[^1].Zxid : Storage.Snapshot?.Zxid ?? 0;

    public List<long> CompletedSyncs { get; } = [];

    public List<long> AbortedSyncs { get; } = [];

    public List<(long From, string Text)> Forwarded { get; } = [];

    public List<(long From, string Text)> SessionReports { get; } = [];
}
