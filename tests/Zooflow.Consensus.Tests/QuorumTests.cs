using FsCheck.Xunit;
using Zooflow.Consensus.Quorum;

namespace Zooflow.Consensus.Tests;

/// <summary>Majority quorums (Zab paper §III: any two quorums intersect; ZooKeeper's QuorumMaj).</summary>
public sealed class QuorumTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(5, 3)]
    [InlineData(7, 4)]
    public void Size_OfVoterCount_IsStrictMajority(int voters, int expected)
    {
        var quorum = new MajorityQuorum([.. Enumerable.Range(1, voters).Select(i => (long)i)]);

        Assert.Equal(expected, quorum.Size);
    }

    [Fact]
    public void IsQuorum_NonVotersAndDuplicates_DoNotCount()
    {
        var quorum = new MajorityQuorum([1, 2, 3]);

        Assert.False(quorum.IsQuorum([1, 1, 1]));
        Assert.False(quorum.IsQuorum([1, 4, 5, 6])); // 4, 5, 6 are observers or strangers
        Assert.True(quorum.IsQuorum([3, 1]));
    }

    [Fact]
    public void QuorumValue_AckedZxids_IsHighestReachedByAMajority()
    {
        var quorum = new MajorityQuorum([1, 2, 3, 4, 5]);
        var acked = new Dictionary<long, long> { [1] = 9, [2] = 7, [3] = 3, [4] = 8, [5] = 1 };

        // 9, 8 and 7 have three voters at or above 7; nothing higher has three.
        Assert.Equal(7, quorum.QuorumValue(acked, static (a, id) => a[id]));
    }

    [Fact]
    public void SizeReduction_Fault_ShrinksQuorumButNeverBelowOne()
    {
        Assert.Equal(1, new MajorityQuorum([1, 2, 3], sizeReduction: 1).Size);
        Assert.Equal(1, new MajorityQuorum([1], sizeReduction: 5).Size);
    }

    [Property(MaxTest = 300)]
    public bool AnyTwoQuorums_OfTheSameVoters_Intersect(byte size, ushort maskA, ushort maskB)
    {
        int n = 1 + (size % 9);
        long[] voters = [.. Enumerable.Range(0, n).Select(i => (long)i)];
        var quorum = new MajorityQuorum(voters);
        long[] a = [.. voters.Where(v => (maskA & (1 << (int)v)) != 0)];
        long[] b = [.. voters.Where(v => (maskB & (1 << (int)v)) != 0)];
        return !quorum.IsQuorum(a) || !quorum.IsQuorum(b) || a.Intersect(b).Any();
    }

    [Property(MaxTest = 300)]
    public bool QuorumValue_AnyValues_IsReachedByAQuorumAndNothingHigherIs(byte[] raw)
    {
        long[] values = [.. raw.Take(9).Select(b => (long)(b % 50))];
        if (values.Length == 0)
        {
            return true;
        }

        var quorum = new MajorityQuorum([.. Enumerable.Range(0, values.Length).Select(i => (long)i)]);
        long v = quorum.QuorumValue(values, static (vs, id) => vs[id]);
        return values.Count(x => x >= v) >= quorum.Size && values.Count(x => x > v) < quorum.Size;
    }
}
