using System.Globalization;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// Checks every successful read (plain, after sync, and final) against what ZooKeeper promises for reads that are not
/// linearizable: sequential consistency with zxids as the global order, and "a client never sees older state than it
/// has already seen" (Programmer's Guide, "Consistency Guarantees": sequential consistency, single system image).
/// </summary>
/// <remarks>
/// <para>The facts a read is checked against, per register, all observed in the run: every data version is produced by
/// exactly one write (acknowledged writes say which version in their Stat; reads say which value and mzxid a version
/// has), and versions increase with their mzxid (one global zxid order). Violations:</para>
/// <list type="bullet">
/// <item><b>divergence</b>: one version observed with two values or two mzxids (two replicas disagree about history);</item>
/// <item><b>order</b>: a higher version with a lower mzxid;</item>
/// <item><b>phantom</b>: a value nobody wrote, or written by a write that definitely failed, or written by an
/// acknowledged write that produced another version;</item>
/// <item><b>future read</b>: a value whose write was invoked after the read completed;</item>
/// <item><b>stale read</b>: the session had already seen zxid Z (the last reply before this read), some version newer
/// than the one read has mzxid ≤ Z, yet the read returned the older one. ZooKeeper guarantees this cannot happen: a
/// server serves a session only once it has applied the session's last seen zxid (it refuses the reconnect
/// otherwise), and a server applies transactions in zxid order.</item>
/// </list>
/// </remarks>
public static class ReadConsistency
{
    public static CheckReport Check(IReadOnlyList<JepsenOp> ops, long originTicks)
    {
        var report = new CheckReport("read consistency");
        var reads = 0;
        var stale = 0;
        foreach (var keyOps in ops.Where(o => o.Key >= 0).GroupBy(o => o.Key).OrderBy(g => g.Key))
        {
            var key = keyOps.Key;
            var writers = new Dictionary<long, JepsenOp>();
            var versions = new SortedDictionary<int, (long Value, long? Mzxid, JepsenOp Source)>();
            void Learn(int version, long value, long? mzxid, JepsenOp source)
            {
                if (!versions.TryGetValue(version, out var known))
                {
                    versions[version] = (value, mzxid, source);
                    return;
                }

                if (known.Value != value)
                {
                    report.Violation($"divergence on r{key}: version {version} is value {known.Value} in {known.Source.Describe(originTicks)} but value {value} in {source.Describe(originTicks)}");
                }

                if (mzxid is { } m && known.Mzxid is { } k && m != k)
                {
                    report.Violation($"divergence on r{key}: version {version} has mzxid 0x{k:x} in {known.Source.Describe(originTicks)} but 0x{m:x} in {source.Describe(originTicks)}");
                }
                else if (known.Mzxid is null && mzxid is not null)
                {
                    versions[version] = (known.Value, mzxid, known.Source);
                }
            }

            foreach (var op in keyOps)
            {
                if (op.Type is JepsenOpType.Write or JepsenOpType.CompareAndSet)
                {
                    writers[op.WriteValue] = op;
                    if (op.IsCompleted && op.Outcome == OpOutcome.Ok)
                    {
                        Learn(op.Version, op.WriteValue, op.Mzxid, op);
                    }
                }
            }

            var okReads = keyOps.Where(o => o.Type is JepsenOpType.Read or JepsenOpType.SyncRead && o.IsCompleted && o.Outcome == OpOutcome.Ok).ToList();
            foreach (var read in okReads)
            {
                Learn(read.Version, read.ReadValue, read.Mzxid, read);
            }

            // Versions must follow zxid order.
            (int Version, long Mzxid, JepsenOp Source)? previous = null;
            foreach (var (version, (_, mzxid, source)) in versions)
            {
                if (mzxid is not { } m)
                {
                    continue;
                }

                if (previous is { } p && m <= p.Mzxid)
                {
                    report.Violation($"order on r{key}: version {version} has mzxid 0x{m:x} ({source.Describe(originTicks)}) but the older version {p.Version} has 0x{p.Mzxid:x} ({p.Source.Describe(originTicks)})");
                }

                previous = (version, m, source);
            }

            foreach (var read in okReads)
            {
                reads++;
                if (read.ReadValue == 0)
                {
                    if (read.Version != 0)
                    {
                        report.Violation($"phantom on r{key}: the initial value at version {read.Version}: {read.Describe(originTicks)}");
                    }
                }
                else if (!writers.TryGetValue(read.ReadValue, out var writer))
                {
                    report.Violation($"phantom on r{key}: value {read.ReadValue} was never written to it: {read.Describe(originTicks)}");
                }
                else if (writer.IsCompleted && writer.Outcome == OpOutcome.Fail)
                {
                    report.Violation($"phantom on r{key}: {read.Describe(originTicks)} saw the value of a write that failed: {writer.Describe(originTicks)}");
                }
                else if (writer.IsCompleted && writer.Outcome == OpOutcome.Ok && writer.Version != read.Version)
                {
                    report.Violation($"phantom on r{key}: {read.Describe(originTicks)} saw value {read.ReadValue} at version {read.Version}, but its write produced version {writer.Version}: {writer.Describe(originTicks)}");
                }
                else if (read.IsCompleted && writer.InvokeTicks > read.CompleteTicks)
                {
                    report.Violation($"future read on r{key}: {read.Describe(originTicks)} saw the value of a write invoked after it completed: {writer.Describe(originTicks)}");
                }

                // The oldest version newer than the one read: if the session had already seen its zxid, the read is stale.
                foreach (var (version, (_, mzxid, source)) in versions)
                {
                    if (version <= read.Version || mzxid is not { } m)
                    {
                        continue;
                    }

                    if (m <= read.SeenZxidBefore)
                    {
                        stale++;
                        report.Violation($"stale read on r{key}: {read.Describe(originTicks)} returned version {read.Version} although its session had already seen zxid 0x{read.SeenZxidBefore:x}, by which version {version} existed (mzxid 0x{m:x}, {source.Describe(originTicks)})");
                    }

                    break;
                }
            }
        }

        report.Summary = string.Create(CultureInfo.InvariantCulture, $"{reads:N0} successful reads checked ({stale} stale)");
        return report;
    }
}
