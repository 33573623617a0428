using System.Globalization;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// Checks the per-session guarantees, one session at a time, over its ops in program order (each logical client issues
/// one op at a time, so invocation order is program order): FIFO client order and "a client never sees older state
/// than it has already seen", also across reconnects to other members.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The zxid in the replies (the reply header's zxid: the serving member's last applied zxid, or a write's own) never
/// goes down within a session.</item>
/// <item>Per register, the data version the session observes (reads and its own acknowledged writes) never goes down,
/// and an acknowledged write produces a version above every version the session saw before (read-your-writes).</item>
/// <item>The session's acknowledged sequential creates get increasing sequence numbers (FIFO order of its writes).</item>
/// </list>
/// Indeterminate ops are skipped (no reply was seen). A new session after expiry starts afresh, as ZooKeeper's
/// guarantees are per session.
/// </remarks>
public static class SessionGuarantees
{
    public static CheckReport Check(IReadOnlyList<JepsenOp> ops, long originTicks)
    {
        var report = new CheckReport("session guarantees");
        var sessions = 0;
        var checkedOps = 0;
        foreach (var session in ops.Where(o => !o.IsFinal).GroupBy(o => (o.Client, o.SessionIndex)))
        {
            sessions++;
            JepsenOp? lastZxidOp = null;
            JepsenOp? lastCreate = null;
            var seenVersion = new Dictionary<int, JepsenOp>();
            foreach (var op in session.OrderBy(o => o.Id))
            {
                if (!op.IsCompleted || op.Outcome == OpOutcome.Info)
                {
                    continue;
                }

                checkedOps++;
                if (op.ReplyZxid > 0)
                {
                    if (lastZxidOp is not null && op.ReplyZxid < lastZxidOp.ReplyZxid)
                    {
                        report.Violation($"zxid went back in session c{op.Client}/s{op.SessionIndex}: {op.Describe(originTicks)} after {lastZxidOp.Describe(originTicks)}");
                    }

                    if (lastZxidOp is null || op.ReplyZxid >= lastZxidOp.ReplyZxid)
                    {
                        lastZxidOp = op;
                    }
                }

                if (op.Outcome != OpOutcome.Ok)
                {
                    continue;
                }

                if (op.Type == JepsenOpType.CreateSequential)
                {
                    if (lastCreate is not null && op.Sequence <= lastCreate.Sequence)
                    {
                        report.Violation($"FIFO order broken in session c{op.Client}/s{op.SessionIndex}: {op.Describe(originTicks)} after {lastCreate.Describe(originTicks)}");
                    }

                    lastCreate = op;
                    continue;
                }

                if (seenVersion.TryGetValue(op.Key, out var seen))
                {
                    var isWrite = op.Type is JepsenOpType.Write or JepsenOpType.CompareAndSet;
                    if (op.Version < seen.Version || (isWrite && op.Version == seen.Version))
                    {
                        report.Violation($"r{op.Key} went back in session c{op.Client}/s{op.SessionIndex}: {op.Describe(originTicks)} after {seen.Describe(originTicks)}");
                    }
                }

                if (!seenVersion.TryGetValue(op.Key, out var before) || op.Version > before.Version)
                {
                    seenVersion[op.Key] = op;
                }
            }
        }

        report.Summary = string.Create(CultureInfo.InvariantCulture, $"{sessions} sessions, {checkedOps:N0} answered ops");
        return report;
    }
}
