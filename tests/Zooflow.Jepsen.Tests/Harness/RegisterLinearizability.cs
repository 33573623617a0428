using System.Globalization;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// Checks that every register's writes, compare-and-sets and linearizable reads form a linearizable history of a
/// <see cref="VersionedRegisterModel"/>, one register at a time (linearizability is local, so registers are
/// independent: Herlihy and Wing's P-compositionality).
/// </summary>
/// <remarks>
/// <para>Which reads take part: sync+read ops when the backend promises linearizable sync (the read's interval starts
/// at the sync's invocation: a read after a completed sync must reflect every write acknowledged before the sync began),
/// and the final reads after the heal. Plain getData reads are only sequentially consistent in ZooKeeper (Programmer's
/// Guide, "Consistency Guarantees") and are checked by <see cref="ReadConsistency"/> instead. Indeterminate reads tell
/// nothing and are left out; indeterminate writes and CAS may have taken effect at any point after their invocation,
/// or never.</para>
/// </remarks>
public static class RegisterLinearizability
{
    /// <param name="ops">The whole history.</param>
    /// <param name="syncReadsLinearizable">Include sync+read ops (else only writes, CAS and the final reads).</param>
    /// <param name="originTicks">Time origin for printing.</param>
    /// <param name="informational">Report without asserting (see <see cref="CheckReport.Informational"/>).</param>
    /// <param name="budget">Search bounds per register.</param>
    public static CheckReport Check(IReadOnlyList<JepsenOp> ops, bool syncReadsLinearizable, long originTicks, bool informational = false,
        LinearizabilityBudget? budget = null)
    {
        var report = new CheckReport(syncReadsLinearizable ? "linearizability incl. sync+read" : "linearizability of writes", informational);
        var byKey = new SortedDictionary<int, List<HistoryOperation<RegisterOp>>>();
        var byId = new Dictionary<int, JepsenOp>();
        foreach (var op in ops)
        {
            if (ToRegisterOp(op, syncReadsLinearizable) is not { } registerOp)
            {
                continue;
            }

            if (!byKey.TryGetValue(op.Key, out var list))
            {
                byKey[op.Key] = list = [];
            }

            byId[op.Id] = op;
            var indeterminate = registerOp.Outcome == OpOutcome.Info;
            list.Add(new HistoryOperation<RegisterOp>(op.Id, op.InvokeTicks, indeterminate ? null : op.CompleteTicks, registerOp));
        }

        long steps = 0;
        var total = 0;
        var largest = 0;
        var reads = 0;
        foreach (var (key, history) in byKey)
        {
            total += history.Count;
            largest = Math.Max(largest, history.Count);
            reads += history.Count(h => h.Op.Kind == RegisterOpKind.Read);
            var result = LinearizabilityChecker.Check(VersionedRegisterModel.Instance, history, budget, h => byId[h.Id].Describe(originTicks));
            steps += result.StatesExplored;
            switch (result.Verdict)
            {
                case LinearizabilityVerdict.NotLinearizable:
                    report.Violation($"register r{key} ({history.Count} ops) is not linearizable: {result.Explanation}");
                    break;
                case LinearizabilityVerdict.Unknown:
                    report.Unknowns.Add($"register r{key} ({history.Count} ops): {result.Explanation}");
                    break;
            }
        }

        report.Summary = string.Create(CultureInfo.InvariantCulture,
            $"{byKey.Count} registers, {total:N0} ops ({reads:N0} linearizable reads), largest {largest}, {steps:N0} search steps");
        return report;
    }

    /// <summary>The op as the register model sees it, or null when it takes no part.</summary>
    public static RegisterOp? ToRegisterOp(JepsenOp op, bool syncReadsLinearizable)
    {
        // An op that never completed keeps the Info outcome it was created with.
        return op.Type switch
        {
            JepsenOpType.Write => new RegisterOp(RegisterOpKind.Write, op.Outcome, op.WriteValue, -1, op.Version),
            JepsenOpType.CompareAndSet => new RegisterOp(RegisterOpKind.CompareAndSet, op.Outcome, op.WriteValue, op.ExpectedVersion, op.Version),
            JepsenOpType.SyncRead when (syncReadsLinearizable || op.IsFinal) && op.Outcome != OpOutcome.Info =>
                new RegisterOp(RegisterOpKind.Read, op.Outcome, op.ReadValue, -1, op.Version),
            _ => null,
        };
    }
}
