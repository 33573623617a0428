using FsCheck.Xunit;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests;

/// <summary>
/// Properties of the WGL checker: a history made from a real sequential execution, each op given a random window of
/// concurrency around its linearization point (and some replies lost), is always accepted; the same history with one
/// final read that contradicts the final state is always rejected.
/// </summary>
public sealed class LinearizabilityPropertyTests
{
    /// <summary>Runs <paramref name="count"/> random register ops sequentially and returns them as a concurrent history.</summary>
    /// <param name="seed">Everything follows from it.</param>
    /// <param name="count">Ops executed.</param>
    /// <param name="window">Each op's invocation is up to this many ticks before its linearization point and its
    /// completion up to this many after (points are 100 ticks apart, so large windows overlap many ops).</param>
    /// <param name="withLostReplies">Turn some ops into indeterminate ones (effect kept, reply lost) and add writes that
    /// never took effect.</param>
    private static (List<HistoryOperation<RegisterOp>> History, RegisterState Final) Generate(int seed, int count, int window, bool withLostReplies)
    {
        var random = new Random(seed);
        var state = VersionedRegisterModel.Instance.Initial;
        var history = new List<HistoryOperation<RegisterOp>>();
        long nextValue = 1;
        for (var i = 0; i < count; i++)
        {
            var point = 1_000 + (100L * i);
            RegisterOp op;
            switch (random.Next(3))
            {
                case 0:
                    op = new RegisterOp(RegisterOpKind.Read, OpOutcome.Ok, state.Value, -1, state.Version);
                    break;
                case 1:
                    state = new RegisterState(state.Version + 1, nextValue++);
                    op = new RegisterOp(RegisterOpKind.Write, OpOutcome.Ok, state.Value, -1, state.Version);
                    break;
                default:
                    var expected = random.Next(2) == 0 ? state.Version : state.Version + random.Next(1, 3);
                    if (expected == state.Version)
                    {
                        state = new RegisterState(state.Version + 1, nextValue++);
                        op = new RegisterOp(RegisterOpKind.CompareAndSet, OpOutcome.Ok, state.Value, expected, state.Version);
                    }
                    else
                    {
                        op = new RegisterOp(RegisterOpKind.CompareAndSet, OpOutcome.Fail, nextValue++, expected);
                    }

                    break;
            }

            var invoke = point - random.Next(window + 1);
            long? complete = point + random.Next(window + 1);
            if (withLostReplies && op.Kind != RegisterOpKind.Read && random.Next(6) == 0)
            {
                op = op with { Outcome = OpOutcome.Info, Version = -1 };
                complete = null;
            }

            history.Add(new HistoryOperation<RegisterOp>(i, invoke, complete, op));
            if (withLostReplies && random.Next(8) == 0)
            {
                // A write whose reply was lost and which never took effect.
                history.Add(new HistoryOperation<RegisterOp>(10_000 + i, point - random.Next(window + 1), null,
                    new RegisterOp(RegisterOpKind.Write, OpOutcome.Info, nextValue++)));
            }
        }

        return (history, state);
    }

    [Property(MaxTest = 300)]
    public bool Check_HistoryOfASequentialExecution_IsLinearizable(int seed, byte size, byte window)
    {
        var (history, _) = Generate(seed, 1 + (size % 40), window * 2, withLostReplies: true);

        return LinearizabilityChecker.Check(VersionedRegisterModel.Instance, history).Verdict == LinearizabilityVerdict.Linearizable;
    }

    [Property(MaxTest = 300)]
    public bool Check_FinalReadContradictingTheFinalState_IsRejected(int seed, byte size, byte window, bool staleVersion)
    {
        var (history, final) = Generate(seed, 1 + (size % 40), window * 2, withLostReplies: false);
        var end = history.Max(h => h.CompleteTicks!.Value) + 1;
        var wrong = staleVersion && final.Version > 0
            ? new RegisterOp(RegisterOpKind.Read, OpOutcome.Ok, final.Value, -1, final.Version - 1)
            : new RegisterOp(RegisterOpKind.Read, OpOutcome.Ok, final.Value + 1_000_000, -1, final.Version);
        history.Add(new HistoryOperation<RegisterOp>(99_999, end, end + 1, wrong));

        return LinearizabilityChecker.Check(VersionedRegisterModel.Instance, history).Verdict == LinearizabilityVerdict.NotLinearizable;
    }
}
