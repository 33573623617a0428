namespace Zooflow.Consensus.Messages;

/// <summary>
/// A fast leader election notification (ZooKeeper's <c>FastLeaderElection.Notification</c>): the sender's current vote,
/// its election round (<c>logicalclock</c> / <c>electionEpoch</c>) and its state. A LOOKING server sends it to every voter
/// when its vote changes and again on a backoff timer; a server that has decided answers a LOOKING one with the vote it
/// decided on, so late joiners find the established leader.
/// </summary>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="Vote">Proposed leader, its last zxid and epoch.</param>
/// <param name="Round">The election round the vote belongs to.</param>
/// <param name="State">Sender's state: LOOKING, or FOLLOWING/LEADING/OBSERVING once decided.</param>
public sealed record Notification(long From, long To, Vote Vote, long Round, PeerState State) : ZabMessage(From, To);

/// <summary>
/// Closes a leader-learner link: the sender dropped it (timeout, sequence gap, stepped down, or it does not know the
/// link). The receiver treats it like ZooKeeper treats a closed quorum socket: a learner goes back to LOOKING, a leader
/// forgets the learner. Not sequenced: it may arrive at any time and is ignored unless it names the current link.
/// </summary>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link being closed.</param>
public sealed record LinkReset(long From, long To, long LinkId) : ZabMessage(From, To);
