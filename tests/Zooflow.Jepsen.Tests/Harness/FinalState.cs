using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// What one member holds after the faults are healed, read through a fresh session pinned to it after a sync.
/// </summary>
/// <param name="Member">The member id.</param>
/// <param name="Registers">Register → (version, value, mzxid).</param>
/// <param name="Sequence">Child name of the sequence parent → data id stored in it.</param>
public sealed record MemberSnapshot(
    int Member,
    IReadOnlyDictionary<int, (int Version, long Value, long Mzxid)> Registers,
    IReadOnlyDictionary<string, long> Sequence);

/// <summary>
/// Checks that nothing acknowledged was lost and that the healed members agree: every member holds the same version,
/// value and mzxid of every register, and no register is older than its newest acknowledged write ("zero lost
/// acknowledged writes"). The final reads are also part of the linearizability and read checks, which tie the final
/// values to the writes that produced them.
/// </summary>
public static class Durability
{
    /// <summary>The report's <see cref="CheckReport.Name"/>.</summary>
    public const string Name = "durability";

    public static CheckReport Check(IReadOnlyList<JepsenOp> ops, IReadOnlyList<MemberSnapshot> snapshots, long originTicks)
    {
        var report = new CheckReport(Name);
        if (snapshots.Count == 0)
        {
            report.Violation("no member could be read after the heal");
            return report;
        }

        var first = snapshots[0];
        foreach (var other in snapshots.Skip(1))
        {
            foreach (var (key, state) in first.Registers)
            {
                if (!other.Registers.TryGetValue(key, out var theirs))
                {
                    report.Violation($"r{key} exists on member {first.Member} but not on member {other.Member}");
                }
                else if (theirs != state)
                {
                    report.Violation($"members disagree on r{key}: member {first.Member} has {state}, member {other.Member} has {theirs}");
                }
            }

            if (!first.Sequence.Keys.ToHashSet().SetEquals(other.Sequence.Keys))
            {
                var missing = first.Sequence.Keys.Except(other.Sequence.Keys).Take(5);
                var extra = other.Sequence.Keys.Except(first.Sequence.Keys).Take(5);
                report.Violation($"members {first.Member} and {other.Member} disagree on the sequential children: only on {first.Member}: [{string.Join(", ", missing)}], only on {other.Member}: [{string.Join(", ", extra)}]");
            }
        }

        var acknowledged = 0;
        foreach (var write in ops.Where(o => o.Type is JepsenOpType.Write or JepsenOpType.CompareAndSet && o.IsCompleted && o.Outcome == OpOutcome.Ok))
        {
            acknowledged++;
            foreach (var snapshot in snapshots)
            {
                if (!snapshot.Registers.TryGetValue(write.Key, out var state))
                {
                    report.Violation($"lost acknowledged write: r{write.Key} is missing on member {snapshot.Member}; {write.Describe(originTicks)}");
                }
                else if (state.Version < write.Version)
                {
                    report.Violation($"lost acknowledged write: member {snapshot.Member} has r{write.Key} at version {state.Version}, below the acknowledged {write.Describe(originTicks)}");
                }
            }
        }

        report.Summary = $"{acknowledged:N0} acknowledged writes against {snapshots.Count} members' final state ({first.Registers.Count} registers)";
        return report;
    }
}
