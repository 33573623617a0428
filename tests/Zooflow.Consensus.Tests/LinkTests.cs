using System.Text;
using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;

namespace Zooflow.Consensus.Tests;

/// <summary>Leader-learner links (the core's stand-in for ZooKeeper's quorum TCP connection), forwarded requests and
/// session reports (global sessions: learners report touches on pings, the leader decides expiry).</summary>
public sealed class LinkTests
{
    [Fact]
    public void Link_MessageLostInBetween_LearnerDropsTheLinkAndRejoins()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);
        cluster.Propose(leader, "a");
        cluster.Propose(leader, "b");

        cluster.Deliver(m => m is Proposal p && p.To == follower && Encoding.UTF8.GetString(p.Entry.Data.Span) == "a", drop: true);
        cluster.Deliver(m => m.To == follower && m is Proposal);

        Assert.Equal(PeerState.Looking, cluster[follower].Status.State); // "b" after a gap: as if TCP had broken
        cluster.ElectAndSettle();
        Assert.Equal(["a", "b"], cluster[follower].Applied.Select(a => a.Value));
    }

    [Fact]
    public void Link_DuplicatedMessage_IsIgnored()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);
        cluster.Propose(leader, "a");
        Proposal copy = cluster.InFlight.OfType<Proposal>().First(p => p.To == follower);

        cluster.Stabilize();
        cluster.InFlight.Add(copy);
        cluster.Stabilize();

        Assert.Equal(PeerState.Following, cluster[follower].Status.State);
        Assert.Single(cluster[follower].Storage.Entries);
    }

    [Fact]
    public void ForwardRequest_FromFollower_ReachesLeaderReadyWithItsOrigin()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);

        cluster.StepLocal(follower, new ForwardRequest(Encoding.UTF8.GetBytes("create /a")));
        cluster.StepLocal(leader, new ForwardRequest(Encoding.UTF8.GetBytes("create /b")));
        cluster.Stabilize();

        Assert.Equal([(follower, "create /a"), (leader, "create /b")], cluster[leader].Forwarded.OrderBy(f => f.Text));
    }

    [Fact]
    public void ForwardRequest_WhileNotServing_IsDropped()
    {
        var cluster = new TestCluster([1, 2, 3]);

        cluster.StepLocal(1, new ForwardRequest(new byte[] { 1 }));
        cluster.ElectAndSettle();

        Assert.All(cluster.Nodes.Values, n => Assert.Empty(n.Forwarded));
    }

    [Fact]
    public void ReportSessions_OnFollower_RidesOnTheNextPingReply()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);

        cluster.StepLocal(follower, new ReportSessions(Encoding.UTF8.GetBytes("touch 0x1")));
        cluster.StepLocal(follower, new ReportSessions(Encoding.UTF8.GetBytes("touch 0x2")));
        Assert.Empty(cluster[leader].SessionReports);
        cluster.Run(cluster[leader].Options.PingIntervalTicks);

        Assert.Equal([(follower, "touch 0x1"), (follower, "touch 0x2")], cluster[leader].SessionReports);
        PingReply reply = cluster.Sent.OfType<PingReply>().First(r => r.SessionReports.Count > 0);
        Assert.Equal(follower, reply.From);
    }

    [Fact]
    public void PeerDisconnected_Leader_FollowerLooksAtOnce()
    {
        var cluster = new TestCluster([1, 2, 3]);
        long leader = cluster.ElectAndSettle();
        long follower = cluster.Nodes.Keys.First(k => k != leader);

        cluster.StepLocal(follower, new RequestSync(4));
        cluster.StepLocal(follower, new PeerDisconnected(leader));

        Assert.Equal(PeerState.Looking, cluster[follower].Status.State); // no waiting for syncLimit
        Assert.False(cluster[follower].Status.IsServing);
        Assert.Equal([4L], cluster[follower].AbortedSyncs);
    }
}
