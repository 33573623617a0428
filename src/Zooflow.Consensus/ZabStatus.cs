namespace Zooflow.Consensus;

/// <summary>
/// A server's consensus state at the moment a <see cref="Ready"/> was built: its role for the driver (serve or not) and
/// the figures ZooKeeper shows in <c>srvr</c>/<c>stat</c>/<c>mntr</c> (zk_server_state, zk_followers,
/// zk_synced_followers, zk_pending_syncs, zk_outstanding proposals, last zxid, epoch).
/// </summary>
/// <param name="ServerId">This server.</param>
/// <param name="State">LOOKING, FOLLOWING, LEADING or OBSERVING.</param>
/// <param name="Phase">Election, Discovery, Synchronization or Broadcast.</param>
/// <param name="LeaderId">The leader this server follows or is; -1 while LOOKING.</param>
/// <param name="IsServing">True when the driver may serve clients: an established leader, or a learner that received
/// UPTODATE. When it turns false the driver fails pending requests with ConnectionLoss and closes client connections,
/// as ZooKeeper does when a server leaves its role.</param>
/// <param name="AcceptedEpoch">Durable-to-be accepted epoch.</param>
/// <param name="CurrentEpoch">Durable-to-be current epoch.</param>
/// <param name="LastZxid">Last zxid in the log (including records not yet durable).</param>
/// <param name="CommittedZxid">Highest zxid known committed.</param>
/// <param name="NextZxid">Leader in broadcast: the zxid the next <see cref="ZabNode.Propose"/> will assign (the driver
/// stamps it into the transaction header). 0 otherwise.</param>
/// <param name="Followers">Leader: voting learners with a link (zk_followers counts all learners; see
/// <paramref name="Observers"/>).</param>
/// <param name="SyncedFollowers">Leader: voting learners that acknowledged NEWLEADER (zk_synced_followers).</param>
/// <param name="Observers">Leader: observers with a link.</param>
/// <param name="SyncedObservers">Leader: observers that acknowledged NEWLEADER (zk_synced_observers).</param>
/// <param name="PendingProposals">Leader: proposals not yet committed (zk_outstanding proposals).</param>
/// <param name="PendingSyncs">Syncs waiting (leader: all registered; learner: forwarded ones) (zk_pending_syncs).</param>
/// <param name="ElectionRound">FastLeaderElection's logical clock (the last round this server took part in).</param>
public readonly record struct ZabStatus(
    long ServerId,
    PeerState State,
    ZabPhase Phase,
    long LeaderId,
    bool IsServing,
    long AcceptedEpoch,
    long CurrentEpoch,
    long LastZxid,
    long CommittedZxid,
    long NextZxid,
    int Followers,
    int SyncedFollowers,
    int Observers,
    int SyncedObservers,
    int PendingProposals,
    int PendingSyncs,
    long ElectionRound)
{
    /// <summary>ZooKeeper's name for the state, as 4lw and mntr print it: leader, follower, observer or looking.</summary>
    public string ServerStateName => State switch
    {
        PeerState.Leading => "leader",
        PeerState.Following => "follower",
        PeerState.Observing => "observer",
        _ => "looking",
    };
}
