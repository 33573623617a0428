using Xunit;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests;

/// <summary>
/// The WGL checker on hand-written register histories: linearizable ones accepted, the classic anomalies rejected
/// (Herlihy and Wing 1990 §2 for the definition; Kingsbury's Jepsen analyses for the anomaly names).
/// </summary>
public sealed class LinearizabilityCheckerTests
{
    private static readonly VersionedRegisterModel Model = VersionedRegisterModel.Instance;

    private static HistoryOperation<RegisterOp> H(int id, long invoke, long? complete, RegisterOp op) => new(id, invoke, complete, op);

    private static RegisterOp Read(int version, long value) => new(RegisterOpKind.Read, OpOutcome.Ok, value, -1, version);

    private static RegisterOp Write(long value, int newVersion) => new(RegisterOpKind.Write, OpOutcome.Ok, value, -1, newVersion);

    private static RegisterOp WriteInfo(long value) => new(RegisterOpKind.Write, OpOutcome.Info, value);

    private static RegisterOp Cas(int expected, long value) => new(RegisterOpKind.CompareAndSet, OpOutcome.Ok, value, expected, expected + 1);

    private static RegisterOp CasFail(int expected, long value) => new(RegisterOpKind.CompareAndSet, OpOutcome.Fail, value, expected);

    private static LinearizabilityVerdict Verdict(params HistoryOperation<RegisterOp>[] history) =>
        LinearizabilityChecker.Check(Model, history).Verdict;

    [Fact]
    public void Check_EmptyHistory_Linearizable() => Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict());

    [Fact]
    public void Check_SequentialWritesCasAndReads_Linearizable()
    {
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            H(0, 0, 1, Read(0, 0)),
            H(1, 2, 3, Write(5, 1)),
            H(2, 4, 5, Read(1, 5)),
            H(3, 6, 7, Cas(1, 6)),
            H(4, 8, 9, CasFail(1, 7)),
            H(5, 10, 11, Read(2, 6))));
    }

    [Fact]
    public void Check_ReadConcurrentWithWrite_MaySeeEitherValue()
    {
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(H(0, 0, 10, Write(5, 1)), H(1, 2, 3, Read(0, 0))));
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(H(0, 0, 10, Write(5, 1)), H(1, 2, 3, Read(1, 5))));
    }

    [Fact]
    public void Check_ReadsSeeNewThenOldDuringOneWrite_NotLinearizable()
    {
        // Once a read returned the new value, a read that starts later cannot return the old one (no "flicker").
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            H(0, 0, 100, Write(5, 1)),
            H(1, 10, 20, Read(1, 5)),
            H(2, 30, 40, Read(0, 0))));
    }

    [Fact]
    public void Check_StaleReadAfterCompletedWrite_NotLinearizable()
    {
        var result = LinearizabilityChecker.Check(Model, [H(0, 0, 1, Write(7, 1)), H(1, 2, 3, Read(0, 0))]);

        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        Assert.Contains("read -> (version 0, value 0)", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("state after it: (version 1, value 7)", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_LostAcknowledgedWrite_NotLinearizable()
    {
        // Two acknowledged writes in sequence; a later read sees the first one as if the second never happened.
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            H(0, 0, 1, Write(5, 1)),
            H(1, 2, 3, Write(6, 2)),
            H(2, 4, 5, Read(1, 5))));
    }

    [Fact]
    public void Check_TwoCasFromTheSameVersionBothSucceed_NotLinearizable()
    {
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(H(0, 0, 10, Cas(0, 5)), H(1, 0, 10, Cas(0, 6))));
    }

    [Fact]
    public void Check_CasFailsAlthoughTheVersionMatched_NotLinearizable()
    {
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(H(0, 0, 1, CasFail(0, 5))));
    }

    [Fact]
    public void Check_ReadOfAValueWrittenLater_NotLinearizable()
    {
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(H(0, 0, 1, Read(1, 5)), H(1, 2, 3, Write(5, 1))));
    }

    [Fact]
    public void Check_IndeterminateWriteSeenLater_Linearizable()
    {
        // The write's connection was lost (info); it took effect, as a later read shows.
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(H(0, 0, null, WriteInfo(9)), H(1, 5, 6, Read(1, 9)), H(2, 7, 8, Read(1, 9))));
    }

    [Fact]
    public void Check_IndeterminateWriteNeverApplied_Linearizable()
    {
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(H(0, 0, null, WriteInfo(9)), H(1, 5, 6, Read(0, 0)), H(2, 7, 8, Read(0, 0))));
    }

    [Fact]
    public void Check_IndeterminateWriteSeenThenUnseen_NotLinearizable()
    {
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(H(0, 0, null, WriteInfo(9)), H(1, 5, 6, Read(1, 9)), H(2, 7, 8, Read(0, 0))));
    }

    [Fact]
    public void Check_IndeterminateWriteCannotTakeEffectBeforeItsInvocation_NotLinearizable()
    {
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(H(0, 0, 1, Read(1, 9)), H(1, 5, null, WriteInfo(9))));
    }

    [Fact]
    public void Check_IndeterminateWritesFillAVersionGap_Linearizable()
    {
        // An acknowledged write produced version 3: two writes whose replies were lost must have come first.
        Assert.Equal(LinearizabilityVerdict.Linearizable, Verdict(
            H(0, 0, null, WriteInfo(1)),
            H(1, 0, null, WriteInfo(2)),
            H(2, 10, 11, Write(3, 3))));
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, Verdict(
            H(0, 0, null, WriteInfo(1)),
            H(2, 10, 11, Write(3, 3))));
    }

    [Fact]
    public void Check_TinyBudget_UnknownRatherThanHanging()
    {
        var history = new List<HistoryOperation<RegisterOp>>();
        for (var i = 0; i < 30; i++)
        {
            history.Add(H(i, i, null, WriteInfo(100 + i)));
        }

        history.Add(H(30, 100, 101, Read(31, 7))); // impossible: forces the whole space to be searched
        var result = LinearizabilityChecker.Check(Model, history, new LinearizabilityBudget(10_000, 1_000_000));

        Assert.Equal(LinearizabilityVerdict.Unknown, result.Verdict);
        Assert.StartsWith("unknown — too large", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_CompletionBeforeInvocation_Throws()
    {
        Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check(Model, [H(0, 5, 4, Read(0, 0))]));
    }
}
