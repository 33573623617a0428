using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;
using static Zooflow.Consensus.Tests.TestData;

namespace Zooflow.Consensus.Tests;

/// <summary>Always-on invariant checks stop the node instead of continuing with corrupt state (STYLE.md convention 7);
/// driver mistakes and bad configuration are clear exceptions.</summary>
public sealed class InvariantTests
{
    private static readonly Membership Three = new([1, 2, 3]);

    [Fact]
    public void NewLeader_SameEpochFromASecondLeader_StopsTheLearner()
    {
        // Zab paper §III Leadership / Zab.tla Leadership1: at most one established leader per epoch.
        var node = new DrivenNode(2, Three);
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1));
        node.Step(new LeaderInfo(1, 2, link, 0, 4, link));
        node.Step(new NewLeader(1, 2, link, 1, 4, SyncMode.Diff, 0, null, [], 0));
        node.Step(new LinkReset(1, 2, link));

        long other = DrivenNode.LinkOf(node.JoinEstablished(leader: 3, round: 2));
        node.Step(new LeaderInfo(3, 2, other, 0, 4, other));

        Assert.Throws<ZabInvariantException>(() => node.Step(new NewLeader(3, 2, other, 1, 4, SyncMode.Diff, 0, null, [], 0)));
    }

    [Fact]
    public void Proposal_OfAnotherEpoch_StopsTheFollower()
    {
        var node = new DrivenNode(2, Three);
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1));
        node.Step(new LeaderInfo(1, 2, link, 0, 2, link));
        node.Step(new NewLeader(1, 2, link, 1, 2, SyncMode.Diff, 0, null, [], 0));

        Assert.Throws<ZabInvariantException>(() => node.Step(new Proposal(1, 2, link, 2, Entry(3, 1))));
    }

    [Fact]
    public void Proposal_NotAfterTheLastRecord_StopsTheFollower()
    {
        var node = new DrivenNode(2, Three);
        long link = DrivenNode.LinkOf(node.JoinEstablished(leader: 1));
        node.Step(new LeaderInfo(1, 2, link, 0, 1, link));
        node.Step(new NewLeader(1, 2, link, 1, 1, SyncMode.Diff, 0, null, [Entry(1, 1), Entry(1, 2)], 0));

        Assert.Throws<ZabInvariantException>(() => node.Step(new Proposal(1, 2, link, 2, Entry(1, 2))));
    }

    [Fact]
    public void StoredHardState_CurrentAboveAccepted_IsRejectedAtStart()
    {
        var storage = new MemoryStorage();
        storage.Persist(new Ready { HardState = new HardState(2, 3), Status = default });

        var ex = Assert.Throws<InvalidDataException>(() => new ZabNode(new ZabOptions { ServerId = 1, Membership = Three }, storage, 0));
        Assert.Contains("current epoch 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_SeveralProblems_AllReportedAtOnce()
    {
        var options = new ZabOptions { ServerId = 9, Membership = Three, SyncLimitTicks = 0, PingIntervalTicks = 5, DiffEntriesMax = -1 };

        IReadOnlyList<string> errors = options.Validate();

        Assert.Contains(errors, e => e.Contains("ServerId 9 is not a member", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("SyncLimitTicks must be positive", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("DiffEntriesMax must be positive", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("PingIntervalTicks (5) must be below SyncLimitTicks", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => new ZabNode(options, new MemoryStorage(), 0));
    }

    [Fact]
    public void Membership_DuplicateAndNegativeIds_AllReported()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Membership([1, 2, 2], [-1]));

        Assert.Contains("listed twice", ex.Message, StringComparison.Ordinal);
        Assert.Contains("negative", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AppliedZxid_BeyondTheLog_IsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new ZabNode(new ZabOptions { ServerId = 1, Membership = Three }, Stored(1, 1, Entry(1, 1)), Zxid.Make(1, 2)));

    [Fact]
    public void Advance_WithAReadyNotLastReturned_Throws()
    {
        var node = new ZabNode(new ZabOptions { ServerId = 1, Membership = Three }, new MemoryStorage(), 0);
        Assert.True(node.TryGetReady(out Ready? ready));

        Assert.False(node.TryGetReady(out _)); // one Ready at a time
        Assert.Throws<InvalidOperationException>(() => node.Advance(new Ready { Status = ready.Status }));
        node.Advance(ready);
        Assert.Throws<InvalidOperationException>(() => node.Advance(ready));
    }

    [Fact]
    public void Step_MessageForAnotherServer_Throws()
    {
        var node = new ZabNode(new ZabOptions { ServerId = 1, Membership = Three }, new MemoryStorage(), 0);

        Assert.Throws<ArgumentException>(() => node.Step(new Notification(2, 3, new Vote(2, 0, 0), 1, PeerState.Looking)));
    }

    [Fact]
    public void FromZooKeeper_DefaultZooCfgTiming_ConvertsToTicks()
    {
        // tickTime=2000, initLimit=10, syncLimit=5 (zoo_sample.cfg), the driver ticking every 100 ms.
        ZabOptions options = ZabOptions.FromZooKeeper(1, Three, tickTimeMs: 2000, initLimit: 10, syncLimit: 5, tickIntervalMs: 100, randomSeed: 3);

        Assert.Equal((200, 100, 10, 2, 2, 600), (options.InitLimitTicks, options.SyncLimitTicks, options.PingIntervalTicks,
            options.FinalizeWaitTicks, options.ElectionResendTicksMin, options.ElectionResendTicksMax));
        Assert.Empty(options.Validate());
    }
}
