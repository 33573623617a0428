using Xunit;
using Zooflow.Jepsen.Tests.Harness;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests;

/// <summary>
/// The history checkers other than WGL, on hand-written histories: each guarantee accepted when kept and reported when
/// broken (ZooKeeper Programmer's Guide, "Consistency Guarantees": sequential consistency, single system image,
/// reliability; FIFO client order).
/// </summary>
public sealed class HistoryCheckTests
{
    private int _nextId;

    private JepsenOp Invoke(JepsenOpType type, int key, long invoke, long value = 0, int expected = -1, int client = 0, int session = 0,
        long seenZxid = 0, bool final = false) => new()
        {
            Id = _nextId++,
            Client = client,
            SessionIndex = session,
            SessionId = 100 + client,
            PinnedMember = 1,
            Type = type,
            Key = key,
            WriteValue = value,
            ExpectedVersion = expected,
            InvokeTicks = invoke,
            SeenZxidBefore = seenZxid,
            IsFinal = final,
        };

    private JepsenOp Read(int key, long invoke, long complete, int version, long value, long mzxid, long replyZxid, int client = 0,
        int session = 0, long seenZxid = 0)
    {
        var op = Invoke(JepsenOpType.Read, key, invoke, client: client, session: session, seenZxid: seenZxid);
        op.CompleteRead(complete, version, value, mzxid, replyZxid);
        return op;
    }

    private JepsenOp Write(int key, long invoke, long complete, long value, int version, long zxid, int client = 0, int session = 0)
    {
        var op = Invoke(JepsenOpType.Write, key, invoke, value, client: client, session: session);
        op.CompleteWrite(complete, version, zxid, zxid);
        return op;
    }

    private JepsenOp Create(long invoke, long complete, long data, long sequence, long czxid, int client = 0)
    {
        var op = Invoke(JepsenOpType.CreateSequential, -1, invoke, data, client: client);
        op.CompleteCreate(complete, sequence, czxid, czxid);
        return op;
    }

    private static MemberSnapshot Snapshot(int member, Dictionary<int, (int, long, long)> registers, Dictionary<string, long>? sequence = null) =>
        new(member, registers, sequence ?? []);

    [Fact]
    public void ReadConsistency_ReadsAtOrAfterWhatTheSessionSaw_Pass()
    {
        JepsenOp[] ops =
        [
            Write(0, 0, 10, value: 5, version: 1, zxid: 0x100, client: 1),
            Read(0, 20, 30, version: 0, value: 0, mzxid: 0x50, replyZxid: 0x90, client: 2, seenZxid: 0x90), // stale but allowed
            Read(0, 40, 50, version: 1, value: 5, mzxid: 0x100, replyZxid: 0x100, client: 2, seenZxid: 0x90),
        ];

        Assert.True(ReadConsistency.Check(ops, 0).Passed);
    }

    [Fact]
    public void ReadConsistency_OlderThanTheSessionsZxid_Stale()
    {
        JepsenOp[] ops =
        [
            Write(0, 0, 10, value: 5, version: 1, zxid: 0x100, client: 1),
            Read(0, 20, 30, version: 0, value: 0, mzxid: 0x50, replyZxid: 0x120, client: 2, seenZxid: 0x110),
        ];

        var report = ReadConsistency.Check(ops, 0);

        Assert.Contains(report.Violations, v => v.StartsWith("stale read on r0", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadConsistency_ValueNobodyWrote_Phantom()
    {
        var report = ReadConsistency.Check([Read(0, 0, 1, version: 1, value: 77, mzxid: 0x10, replyZxid: 0x10)], 0);

        Assert.Contains(report.Violations, v => v.Contains("never written", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadConsistency_ValueOfAFailedCas_Phantom()
    {
        var cas = Invoke(JepsenOpType.CompareAndSet, 0, 0, value: 8, expected: 3);
        cas.CompleteWithError(1, OpOutcome.Fail, "BadVersion", 0x10);

        var report = ReadConsistency.Check([cas, Read(0, 2, 3, version: 1, value: 8, mzxid: 0x11, replyZxid: 0x11)], 0);

        Assert.Contains(report.Violations, v => v.Contains("write that failed", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadConsistency_OneVersionTwoValues_Divergence()
    {
        var info = Invoke(JepsenOpType.Write, 0, 0, value: 9);
        info.CompleteWithError(1, OpOutcome.Info, "ConnectionLoss", 0);
        JepsenOp[] ops = [Write(0, 0, 1, value: 5, version: 1, zxid: 0x10), info, Read(0, 2, 3, version: 1, value: 9, mzxid: 0x10, replyZxid: 0x20)];

        var report = ReadConsistency.Check(ops, 0);

        Assert.Contains(report.Violations, v => v.StartsWith("divergence on r0: version 1", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadConsistency_ValueOfAWriteInvokedAfterTheReadCompleted_FutureRead()
    {
        var info = Invoke(JepsenOpType.Write, 0, 50, value: 9);
        info.CompleteWithError(60, OpOutcome.Info, "ConnectionLoss", 0);

        var report = ReadConsistency.Check([Read(0, 0, 10, version: 1, value: 9, mzxid: 0x10, replyZxid: 0x10), info], 0);

        Assert.Contains(report.Violations, v => v.StartsWith("future read", StringComparison.Ordinal));
    }

    [Fact]
    public void SessionGuarantees_ZxidGoesBackAfterReconnect_Violation()
    {
        JepsenOp[] ops =
        [
            Read(0, 0, 1, version: 3, value: 0, mzxid: 0x30, replyZxid: 0x40, client: 1),
            Read(1, 2, 3, version: 0, value: 0, mzxid: 0x5, replyZxid: 0x35, client: 1, seenZxid: 0x40),
        ];

        var report = SessionGuarantees.Check(ops, 0);

        Assert.Contains(report.Violations, v => v.StartsWith("zxid went back in session c1/s0", StringComparison.Ordinal));
    }

    [Fact]
    public void SessionGuarantees_VersionGoesBackWithinASession_Violation()
    {
        JepsenOp[] ops =
        [
            Write(0, 0, 1, value: 5, version: 4, zxid: 0x40, client: 1),
            Read(0, 2, 3, version: 3, value: 0, mzxid: 0x30, replyZxid: 0x41, client: 1, seenZxid: 0x40),
        ];

        var report = SessionGuarantees.Check(ops, 0);

        Assert.Contains(report.Violations, v => v.StartsWith("r0 went back in session c1/s0", StringComparison.Ordinal));
    }

    [Fact]
    public void SessionGuarantees_NewSessionAfterExpiry_StartsAfresh()
    {
        JepsenOp[] ops =
        [
            Read(0, 0, 1, version: 4, value: 0, mzxid: 0x40, replyZxid: 0x50, client: 1, session: 0),
            Read(0, 2, 3, version: 3, value: 0, mzxid: 0x30, replyZxid: 0x31, client: 1, session: 1),
        ];

        Assert.True(SessionGuarantees.Check(ops, 0).Passed);
    }

    [Fact]
    public void SessionGuarantees_OwnCreatesOutOfOrder_FifoViolation()
    {
        var report = SessionGuarantees.Check([Create(0, 1, 1, sequence: 7, czxid: 0x10), Create(2, 3, 2, sequence: 6, czxid: 0x11)], 0);

        Assert.Contains(report.Violations, v => v.StartsWith("FIFO order broken", StringComparison.Ordinal));
    }

    [Fact]
    public void SequentialCreates_AllPresentAndOrdered_Pass()
    {
        JepsenOp[] ops = [Create(0, 10, 1, sequence: 0, czxid: 0x10), Create(5, 20, 2, sequence: 1, czxid: 0x11, client: 1), Create(30, 40, 3, sequence: 2, czxid: 0x12)];
        var children = new Dictionary<string, long> { ["s-0000000000"] = 1, ["s-0000000001"] = 2, ["s-0000000002"] = 3 };

        var report = SequentialCreates.Check(ops, [Snapshot(1, [], children), Snapshot(2, [], children)], 0);

        Assert.True(report.Passed, string.Join('\n', report.Violations));
    }

    [Fact]
    public void SequentialCreates_DuplicateNumberAndRealTimeInversion_Reported()
    {
        JepsenOp[] ops = [Create(0, 10, 1, sequence: 5, czxid: 0x10), Create(20, 30, 2, sequence: 5, czxid: 0x11, client: 1), Create(40, 50, 3, sequence: 4, czxid: 0x12)];

        var report = SequentialCreates.Check(ops, [], 0);

        Assert.Contains(report.Violations, v => v.StartsWith("sequence number 5 acknowledged twice", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.StartsWith("real-time order broken", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.StartsWith("sequence order is not zxid order", StringComparison.Ordinal));
    }

    [Fact]
    public void SequentialCreates_AcknowledgedMissingAndUnknownChild_Reported()
    {
        JepsenOp[] ops = [Create(0, 10, 1, sequence: 0, czxid: 0x10), Create(20, 30, 2, sequence: 1, czxid: 0x11)];
        var children = new Dictionary<string, long> { ["s-0000000000"] = 1, ["s-0000000007"] = 42 };

        var report = SequentialCreates.Check(ops, [Snapshot(3, [], children)], 0);

        Assert.Contains(report.Violations, v => v.StartsWith("lost acknowledged create on member 3", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.Contains("holds data 42 that no create wrote", StringComparison.Ordinal));
    }

    [Fact]
    public void Durability_MembersDisagreeAndAckedWriteMissing_Reported()
    {
        JepsenOp[] ops = [Write(0, 0, 1, value: 5, version: 2, zxid: 0x20)];

        var report = Durability.Check(ops, [Snapshot(1, new() { [0] = (2, 5, 0x20) }), Snapshot(2, new() { [0] = (1, 4, 0x10) })], 0);

        Assert.Contains(report.Violations, v => v.StartsWith("members disagree on r0", StringComparison.Ordinal));
        Assert.Contains(report.Violations, v => v.StartsWith("lost acknowledged write: member 2 has r0 at version 1", StringComparison.Ordinal));
    }

    [Fact]
    public void RegisterLinearizability_PlainReadsLeftToReadConsistency_SyncReadsChecked()
    {
        // A stale plain read is allowed (sequential consistency); the same read after a sync is not.
        var write = Write(0, 0, 10, value: 5, version: 1, zxid: 0x10, client: 1);
        var plain = Read(0, 20, 30, version: 0, value: 0, mzxid: 0x1, replyZxid: 0x5, client: 2);
        var synced = Invoke(JepsenOpType.SyncRead, 0, 40, client: 2, seenZxid: 0x5);
        synced.CompleteRead(50, 0, 0, 0x1, 0x5);

        Assert.True(RegisterLinearizability.Check([write, plain], syncReadsLinearizable: true, 0).Passed);
        Assert.Contains(RegisterLinearizability.Check([write, plain, synced], syncReadsLinearizable: true, 0).Violations,
            v => v.StartsWith("register r0 (2 ops) is not linearizable", StringComparison.Ordinal));
        Assert.True(RegisterLinearizability.Check([write, plain, synced], syncReadsLinearizable: true, 0, informational: true).Informational);
        Assert.True(RegisterLinearizability.Check([write, plain, synced], syncReadsLinearizable: false, 0).Passed);
    }
}
