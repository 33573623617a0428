using System.Globalization;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// Checks the sequential creates: the sequence counter is a linearizable counter, and acknowledged creates are durable.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>No two acknowledged creates got the same sequence number.</item>
/// <item>Real-time order: if create A was acknowledged before create B was invoked, A's number is smaller.</item>
/// <item>Sequence order is zxid order (czxid), since the parent's counter advances once per create in commit order.</item>
/// <item>After the heal, every member holds every acknowledged create under its number, with its data; every other
/// child is an indeterminate create (by its data), each at most once; nothing a create definitely failed to make
/// exists.</item>
/// </list>
/// </remarks>
public static class SequentialCreates
{
    public static CheckReport Check(IReadOnlyList<JepsenOp> ops, IReadOnlyList<MemberSnapshot> snapshots, long originTicks)
    {
        var report = new CheckReport("sequential creates");
        var creates = ops.Where(o => o.Type == JepsenOpType.CreateSequential).ToList();
        var acknowledged = creates.Where(o => o.IsCompleted && o.Outcome == OpOutcome.Ok).ToList();

        foreach (var duplicate in acknowledged.GroupBy(o => o.Sequence).Where(g => g.Count() > 1))
        {
            report.Violation($"sequence number {duplicate.Key} acknowledged twice: {string.Join("; ", duplicate.Select(o => o.Describe(originTicks)))}");
        }

        // Real time: sweep invocations in order, tracking the largest number acknowledged before each.
        var byCompletion = acknowledged.OrderBy(o => o.CompleteTicks).ToList();
        var done = 0;
        JepsenOp? largestBefore = null;
        foreach (var op in acknowledged.OrderBy(o => o.InvokeTicks))
        {
            while (done < byCompletion.Count && byCompletion[done].CompleteTicks < op.InvokeTicks)
            {
                if (largestBefore is null || byCompletion[done].Sequence > largestBefore.Sequence)
                {
                    largestBefore = byCompletion[done];
                }

                done++;
            }

            if (largestBefore is not null && largestBefore.Sequence >= op.Sequence)
            {
                report.Violation($"real-time order broken: {op.Describe(originTicks)} was invoked after {largestBefore.Describe(originTicks)} was acknowledged");
            }
        }

        JepsenOp? previous = null;
        foreach (var op in acknowledged.OrderBy(o => o.Sequence))
        {
            if (previous is not null && op.Czxid <= previous.Czxid)
            {
                report.Violation($"sequence order is not zxid order: {op.Describe(originTicks)} after {previous.Describe(originTicks)}");
            }

            previous = op;
        }

        var byData = creates.ToDictionary(o => o.WriteValue);
        foreach (var snapshot in snapshots)
        {
            var present = snapshot.Sequence.ToDictionary(kv => SequenceOf(kv.Key), kv => kv.Value);
            foreach (var op in acknowledged)
            {
                if (!present.TryGetValue(op.Sequence, out var data))
                {
                    report.Violation($"lost acknowledged create on member {snapshot.Member}: {op.Describe(originTicks)}");
                }
                else if (data != op.WriteValue)
                {
                    report.Violation($"member {snapshot.Member} holds data {data} under the number of {op.Describe(originTicks)}");
                }
            }

            var seenData = new HashSet<long>();
            foreach (var (sequence, data) in present)
            {
                if (!seenData.Add(data))
                {
                    report.Violation($"member {snapshot.Member}: the data {data} of one create appears under two numbers (one is {sequence})");
                }

                if (!byData.TryGetValue(data, out var origin))
                {
                    report.Violation($"member {snapshot.Member}: child with sequence {sequence} holds data {data} that no create wrote");
                }
                else if (origin.IsCompleted && origin.Outcome == OpOutcome.Fail)
                {
                    report.Violation($"member {snapshot.Member}: child with sequence {sequence} was made by a create that failed: {origin.Describe(originTicks)}");
                }
            }
        }

        var indeterminate = creates.Count(o => !o.IsCompleted || o.Outcome == OpOutcome.Info);
        var unknownPresent = snapshots.Count > 0
            ? snapshots[0].Sequence.Values.Count(d => byData.TryGetValue(d, out var o) && (!o.IsCompleted || o.Outcome == OpOutcome.Info))
            : 0;
        report.Summary = string.Create(CultureInfo.InvariantCulture,
            $"{acknowledged.Count:N0} acknowledged creates present on {snapshots.Count} members; {indeterminate} indeterminate ({unknownPresent} took effect)");
        return report;
    }

    /// <summary>The number in a sequential child's name: the last 10 digits (<c>s-0000000042</c> → 42).</summary>
    public static long SequenceOf(string name) =>
        name.Length >= 10 && long.TryParse(name.AsSpan(name.Length - 10), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new FormatException($"'{name}' does not end in a 10-digit sequence number");
}
