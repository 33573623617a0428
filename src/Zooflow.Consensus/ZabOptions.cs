namespace Zooflow.Consensus;

/// <summary>
/// Settings of one <see cref="ZabNode"/>. Immutable; <see cref="Validate"/> reports every problem in one pass. Time is in
/// ticks: the driver calls <see cref="ZabNode.Tick"/> at a fixed interval of its choosing; <see cref="FromZooKeeper"/>
/// converts zoo.cfg's tickTime/initLimit/syncLimit.
/// </summary>
public sealed record ZabOptions
{
    /// <summary>This server's id (zoo.cfg <c>myid</c>).</summary>
    public required long ServerId { get; init; }

    /// <summary>Voters and observers of the ensemble; the same on every member.</summary>
    public required Membership Membership { get; init; }

    /// <summary>Ticks a learner has to connect and synchronise, and a leader to establish its epoch and to bring a quorum
    /// to its history (ZooKeeper's initLimit). Default 100 (initLimit 10 at 10 ticks per tickTime).</summary>
    public int InitLimitTicks { get; init; } = 100;

    /// <summary>Ticks of silence after which a learner abandons its leader and a leader forgets a learner (ZooKeeper's
    /// syncLimit). A leader steps down when fewer than a quorum of voters were heard within it. Default 50.</summary>
    public int SyncLimitTicks { get; init; } = 50;

    /// <summary>Ticks between the leader's pings (ZooKeeper pings every tickTime/2). Default 5.</summary>
    public int PingIntervalTicks { get; init; } = 5;

    /// <summary>Ticks a LOOKING server waits, once a quorum agrees with its vote, for a better vote before it decides
    /// (FastLeaderElection's finalizeWait, 200 ms). 0 decides at once. Default 1.</summary>
    public int FinalizeWaitTicks { get; init; } = 1;

    /// <summary>First interval at which a LOOKING server re-sends its notifications when nothing arrives; doubles up to
    /// <see cref="ElectionResendTicksMax"/> (FastLeaderElection's notTimeout backoff, 200 ms to 60 s). Default 1.</summary>
    public int ElectionResendTicksMin { get; init; } = 1;

    /// <summary>Largest notification re-send interval. Default 300.</summary>
    public int ElectionResendTicksMax { get; init; } = 300;

    /// <summary>Most uncommitted proposals a leader holds; <see cref="ZabNode.Propose"/> answers Busy beyond. Default 10,000.</summary>
    public int PendingProposalsMax { get; init; } = 10_000;

    /// <summary>Most records a DIFF may carry; a learner further behind gets a snapshot (ZooKeeper bounds the diff by
    /// snapSizeLimitForLearnerSync). Default 100,000.</summary>
    public int DiffEntriesMax { get; init; } = 100_000;

    /// <summary>Most committed records handed out per <see cref="Ready"/> (the rest come in the next). Default 10,000.</summary>
    public int ApplyBatchMax { get; init; } = 10_000;

    /// <summary>Applied, durable records kept in memory for quick DIFFs and commits without reading storage (ZooKeeper's
    /// committedLog holds 500). Default 500.</summary>
    public int CommittedLogCacheMax { get; init; } = 500;

    /// <summary>Most session reports a learner buffers between pings; the oldest are dropped beyond (the next report
    /// carries fresh data anyway). Default 64.</summary>
    public int SessionReportsMax { get; init; } = 64;

    /// <summary>Seed of the node's deterministic random source (link ids). Use a different seed for every server and on
    /// every start, e.g. drawn from the OS at start-up; the simulator derives one per incarnation from its run seed.
    /// Equal seeds only cost reconnections (a learner may take a stale link answer for its own), never safety.</summary>
    public ulong RandomSeed { get; init; }

    /// <summary>Deliberate protocol bugs for simulator self-tests. <see cref="ZabFaults.None"/> in production.</summary>
    public ZabFaults Faults { get; init; } = ZabFaults.None;

    /// <summary>Every problem with these options, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Membership is null)
        {
            errors.Add("Membership is required");
        }
        else if (!Membership.Contains(ServerId))
        {
            errors.Add($"ServerId {ServerId} is not a member of the ensemble ({string.Join(",", Membership.Members)})");
        }

        Positive(InitLimitTicks, nameof(InitLimitTicks));
        Positive(SyncLimitTicks, nameof(SyncLimitTicks));
        Positive(PingIntervalTicks, nameof(PingIntervalTicks));
        Positive(ElectionResendTicksMin, nameof(ElectionResendTicksMin));
        Positive(PendingProposalsMax, nameof(PendingProposalsMax));
        Positive(DiffEntriesMax, nameof(DiffEntriesMax));
        Positive(ApplyBatchMax, nameof(ApplyBatchMax));
        Positive(SessionReportsMax, nameof(SessionReportsMax));
        if (FinalizeWaitTicks < 0)
        {
            errors.Add($"{nameof(FinalizeWaitTicks)} must be 0 or more (was {FinalizeWaitTicks})");
        }

        if (CommittedLogCacheMax < 0)
        {
            errors.Add($"{nameof(CommittedLogCacheMax)} must be 0 or more (was {CommittedLogCacheMax})");
        }

        if (ElectionResendTicksMax < ElectionResendTicksMin)
        {
            errors.Add($"{nameof(ElectionResendTicksMax)} ({ElectionResendTicksMax}) must be at least {nameof(ElectionResendTicksMin)} ({ElectionResendTicksMin})");
        }

        if (PingIntervalTicks >= SyncLimitTicks)
        {
            errors.Add($"{nameof(PingIntervalTicks)} ({PingIntervalTicks}) must be below {nameof(SyncLimitTicks)} ({SyncLimitTicks}), or idle learners time out");
        }

        return errors;

        void Positive(int value, string name)
        {
            if (value <= 0)
            {
                errors.Add($"{name} must be positive (was {value})");
            }
        }
    }

    /// <summary>
    /// Options from zoo.cfg's timing: the driver ticks every <paramref name="tickIntervalMs"/>; initLimit and syncLimit
    /// are in units of <paramref name="tickTimeMs"/>, pings go every tickTime/2 and election timers follow
    /// FastLeaderElection (finalizeWait 200 ms, notification backoff 200 ms to 60 s).
    /// </summary>
    public static ZabOptions FromZooKeeper(long serverId, Membership membership, int tickTimeMs, int initLimit, int syncLimit,
        int tickIntervalMs, ulong randomSeed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(tickIntervalMs, 0);
        int Ticks(long ms) => (int)Math.Max(1, (ms + tickIntervalMs - 1) / tickIntervalMs);
        return new ZabOptions
        {
            ServerId = serverId,
            Membership = membership,
            InitLimitTicks = Ticks((long)initLimit * tickTimeMs),
            SyncLimitTicks = Ticks((long)syncLimit * tickTimeMs),
            PingIntervalTicks = Ticks(tickTimeMs / 2),
            FinalizeWaitTicks = Ticks(200),
            ElectionResendTicksMin = Ticks(200),
            ElectionResendTicksMax = Ticks(60_000),
            RandomSeed = randomSeed,
        };
    }
}

/// <summary>
/// Deliberate protocol bugs, so the deterministic simulator can prove its checkers catch what they claim to (a checker
/// that never fires proves nothing). Passed through <see cref="ZabOptions.Faults"/>; there are no static switches.
/// </summary>
public sealed record ZabFaults
{
    /// <summary>The correct protocol.</summary>
    public static ZabFaults None { get; } = new();

    /// <summary>Quorums this many voters smaller than a majority: commits without a real quorum.</summary>
    public int QuorumSizeReduction { get; init; }

    /// <summary>A prospective leader reuses the highest accepted epoch instead of choosing a greater one.</summary>
    public bool ReuseEpoch { get; init; }

    /// <summary>Votes ignore epoch and zxid (highest id wins) and the leader skips its "is a learner ahead of me" check:
    /// a stale server can lead and drop committed records.</summary>
    public bool ElectStaleLeader { get; init; }
}
