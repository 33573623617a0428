using System.Text;

namespace Zooflow.Consensus.Messages;

/// <summary>
/// A message on a leader-learner link: the core's stand-in for ZooKeeper's quorum TCP connection between a
/// <c>Learner</c> and its <c>LearnerHandler</c>. The learner asks for a link with <see cref="FollowerInfo"/>, naming it by
/// a random nonce; the leader answers <see cref="LeaderInfo"/> with that nonce and a fresh random
/// <paramref name="LinkId"/> of its own, which every later message in both directions carries — like the two initial
/// sequence numbers of a TCP handshake, so a stale copy of a FOLLOWERINFO, or messages of an earlier link, can never be
/// taken for the current link (the simulator found a stale ACKEPOCH counted for a newer epoch without this). Each
/// direction numbers its messages 0, 1, 2 … in <paramref name="Seq"/>. A receiver processes only the next number,
/// ignores lower ones (duplicates) and drops the link on a gap (a lost or reordered message), exactly where TCP would
/// have broken the connection. So Zab's FIFO-channel assumption holds on top of a network that loses, duplicates and
/// reorders.
/// </summary>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link: the leader's id for it; in <see cref="FollowerInfo"/>, the learner's nonce.</param>
/// <param name="Seq">Position of this message in its direction of the link, from 0.</param>
public abstract record LinkMessage(long From, long To, long LinkId, long Seq) : ZabMessage(From, To);

// ---- learner → leader ---------------------------------------------------------------------------------------------

/// <summary>
/// FOLLOWERINFO / OBSERVERINFO (Zab paper §IV-A, CEPOCH): asks for a link (its <c>LinkId</c> is the learner's nonce,
/// repeated until LEADERINFO answers) and reports the learner's accepted epoch, from which the prospective leader picks a
/// new epoch greater than every accepted epoch in a quorum.
/// </summary>
/// <param name="AcceptedEpoch">The learner's <see cref="HardState.AcceptedEpoch"/>.</param>
/// <param name="IsObserver">True for an observer (OBSERVERINFO): it is synchronised but never counted.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record FollowerInfo(long From, long To, long LinkId, long Seq, long AcceptedEpoch, bool IsObserver)
    : LinkMessage(From, To, LinkId, Seq);

/// <summary>
/// ACKEPOCH (Zab paper §IV-A, ACK-E): the learner promised the new epoch (persisted it as accepted epoch) and reports
/// its history summary, so the leader can check it is not behind the learner and decide how to synchronise it.
/// </summary>
/// <param name="Epoch">The epoch acknowledged (the one in LEADERINFO); the leader ignores an acknowledgement of another.</param>
/// <param name="CurrentEpoch">The learner's current epoch.</param>
/// <param name="LastZxid">The learner's last logged zxid.</param>
/// <param name="AlreadyAccepted">True when the learner had already accepted this same epoch before (a reconnect): ZooKeeper
/// sends epoch -1 then. Such an acknowledgement does not count toward the epoch quorum.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record AckEpoch(long From, long To, long LinkId, long Seq, long Epoch, long CurrentEpoch, long LastZxid, bool AlreadyAccepted)
    : LinkMessage(From, To, LinkId, Seq);

/// <summary>ACK of NEWLEADER (Zab paper §IV-B, ACK-LD): the learner logged the leader's history durably and persisted the
/// new epoch as its current epoch.</summary>
/// <param name="Epoch">The new epoch.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record AckNewLeader(long From, long To, long LinkId, long Seq, long Epoch) : LinkMessage(From, To, LinkId, Seq);

/// <summary>ACK (Zab paper §IV-C): the follower has durably logged every record up to and including <paramref name="Zxid"/>
/// (it logs in order, so an ACK is cumulative).</summary>
/// <param name="Zxid">The proposal acknowledged.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record Ack(long From, long To, long LinkId, long Seq, long Zxid) : LinkMessage(From, To, LinkId, Seq);

/// <summary>
/// The learner's answer to <see cref="Ping"/>: proves it still follows this leader in this epoch (used for liveness and
/// to confirm sync rounds), and carries the session reports the driver handed over since the last answer (ZooKeeper's
/// PING with the learner's session touch table).
/// </summary>
/// <param name="Round">The ping round answered.</param>
/// <param name="SessionReports">Opaque session data from <see cref="ReportSessions"/>, oldest first.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record PingReply(long From, long To, long LinkId, long Seq, long Round, IReadOnlyList<ReadOnlyMemory<byte>> SessionReports)
    : LinkMessage(From, To, LinkId, Seq)
{
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"From = {From}, To = {To}, LinkId = {LinkId}, Seq = {Seq}, Round = {Round}, SessionReports = {SessionReports.Count}");
        return true;
    }
}

/// <summary>REQUEST: an opaque client request a learner forwards to the leader (ZooKeeper's forwarded write). The leader's
/// driver receives it in <see cref="Ready.ForwardedRequests"/>.</summary>
/// <param name="Data">Opaque request bytes, defined by the driver.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record Request(long From, long To, long LinkId, long Seq, ReadOnlyMemory<byte> Data) : LinkMessage(From, To, LinkId, Seq)
{
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"From = {From}, To = {To}, LinkId = {LinkId}, Seq = {Seq}, Data = {Data.Length}B");
        return true;
    }
}

/// <summary>SYNC: a learner asks the leader to confirm it is still leader and to answer once everything it proposed before
/// this request has committed (see <see cref="SyncReply"/>).</summary>
/// <param name="SyncId">The id the learner's driver gave in <see cref="RequestSync"/>.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record SyncRequest(long From, long To, long LinkId, long Seq, long SyncId) : LinkMessage(From, To, LinkId, Seq);

// ---- leader → learner ---------------------------------------------------------------------------------------------

/// <summary>LEADERINFO (Zab paper §IV-A, NEWEPOCH): the prospective leader's new epoch. Opens the link: sequence 0, the
/// leader's fresh <c>LinkId</c>, and the nonce of the FOLLOWERINFO it answers.</summary>
/// <param name="Epoch">The new epoch, greater than the accepted epoch of every member of a quorum.</param>
/// <param name="LearnerNonce">The <c>LinkId</c> of the learner's FOLLOWERINFO.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record LeaderInfo(long From, long To, long LinkId, long Seq, long Epoch, long LearnerNonce) : LinkMessage(From, To, LinkId, Seq);

/// <summary>
/// NEWLEADER with the synchronisation that precedes it (Zab paper §IV-B: NEWLEADER(e', I_e'); ZooKeeper sends DIFF, TRUNC
/// or SNAP packets, then the records, then NEWLEADER). The learner installs <paramref name="Snapshot"/> if any, truncates
/// its log after <paramref name="TruncateZxid"/> if TRUNC, appends <paramref name="Entries"/>, persists
/// <paramref name="Epoch"/> as its current epoch and answers <see cref="AckNewLeader"/> once all that is durable.
/// </summary>
/// <param name="Epoch">The leader's epoch.</param>
/// <param name="Mode">DIFF, TRUNC or SNAP.</param>
/// <param name="TruncateZxid">TRUNC: records after this zxid are removed (it is the last record both logs share).
/// Otherwise the zxid the entries continue from.</param>
/// <param name="Snapshot">SNAP: the leader's state; null otherwise.</param>
/// <param name="Entries">Records to append, ascending (for followers the leader's whole log after the sync point, including
/// proposals not yet committed; for observers committed records only).</param>
/// <param name="CommittedZxid">The leader's commit point when it sent this; the learner may deliver up to it.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record NewLeader(long From, long To, long LinkId, long Seq, long Epoch, SyncMode Mode, long TruncateZxid,
    SnapshotData? Snapshot, IReadOnlyList<LogEntry> Entries, long CommittedZxid) : LinkMessage(From, To, LinkId, Seq)
{
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"From = {From}, To = {To}, LinkId = {LinkId}, Seq = {Seq}, Epoch = {Epoch}, Mode = {Mode}, ")
            .Append($"TruncateZxid = {Zxid.ToHex(TruncateZxid)}, Snapshot = {Snapshot?.ToString() ?? "none"}, ")
            .Append($"Entries = [{string.Join(", ", Entries)}], CommittedZxid = {Zxid.ToHex(CommittedZxid)}");
        return true;
    }
}

/// <summary>UPTODATE (Zab paper §IV-B, COMMIT-LD): a quorum has the new history; the learner may deliver up to
/// <paramref name="CommittedZxid"/> (the leader's latest commit point, per the Zab TLA+ spec's fix of issue 3) and serve
/// clients.</summary>
/// <param name="CommittedZxid">The leader's commit point.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record UpToDate(long From, long To, long LinkId, long Seq, long CommittedZxid) : LinkMessage(From, To, LinkId, Seq);

/// <summary>PROPOSAL (Zab paper §IV-C): a new record for followers to log durably and acknowledge.</summary>
/// <param name="Entry">The record.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record Proposal(long From, long To, long LinkId, long Seq, LogEntry Entry) : LinkMessage(From, To, LinkId, Seq);

/// <summary>COMMIT (Zab paper §IV-C): every record up to and including <paramref name="Zxid"/> is committed (cumulative;
/// ZooKeeper sends one per proposal, in zxid order, which this subsumes).</summary>
/// <param name="Zxid">The new commit point.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record Commit(long From, long To, long LinkId, long Seq, long Zxid) : LinkMessage(From, To, LinkId, Seq);

/// <summary>INFORM: a committed record for an observer (ZooKeeper's <c>Leader.INFORM</c>): log it and deliver it.</summary>
/// <param name="Entry">The committed record.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record Inform(long From, long To, long LinkId, long Seq, LogEntry Entry) : LinkMessage(From, To, LinkId, Seq);

/// <summary>PING: liveness, and a round number learners echo in <see cref="PingReply"/>.</summary>
/// <param name="Round">The leader's ping round.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record Ping(long From, long To, long LinkId, long Seq, long Round) : LinkMessage(From, To, LinkId, Seq);

/// <summary>SYNC answer: the leader confirmed its leadership with a quorum after the request arrived, and every record
/// it had proposed before then is committed and was sent on this link before this message.</summary>
/// <param name="SyncId">The learner's sync id.</param>
/// <param name="From">Sender.</param>
/// <param name="To">Receiver.</param>
/// <param name="LinkId">The link.</param>
/// <param name="Seq">Position on the link.</param>
public sealed record SyncReply(long From, long To, long LinkId, long Seq, long SyncId) : LinkMessage(From, To, LinkId, Seq);
