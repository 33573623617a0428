using Zooflow.Consensus.Messages;

namespace Zooflow.Consensus.Tests.Harness;

/// <summary>
/// One <see cref="ZabNode"/> driven by hand, for protocol edge cases: the test plays every other server by stepping
/// crafted messages in. Readies are carried out at once (persist to <see cref="MemoryStorage"/>, collect messages and
/// committed records, advance) unless <see cref="HoldReadies"/> is set.
/// </summary>
internal sealed class DrivenNode
{
    public DrivenNode(long id, Membership membership, Func<ZabOptions, ZabOptions>? configure = null, MemoryStorage? storage = null)
    {
        Storage = storage ?? new MemoryStorage();
        Options = (configure ?? (o => o))(new ZabOptions
        {
            ServerId = id,
            Membership = membership,
            InitLimitTicks = 10,
            SyncLimitTicks = 5,
            PingIntervalTicks = 2,
            FinalizeWaitTicks = 0,
            RandomSeed = 7,
        });
        Core = new ZabNode(Options, Storage, Storage.Snapshot?.Zxid ?? 0);
        Drain();
    }

    public ZabOptions Options { get; }

    public MemoryStorage Storage { get; }

    public ZabNode Core { get; }

    public long Id => Options.ServerId;

    /// <summary>Every message sent so far, in order.</summary>
    public List<ZabMessage> Sent { get; } = [];

    public List<Ready> Readies { get; } = [];

    public List<LogEntry> Applied { get; } = [];

    public List<long> CompletedSyncs { get; } = [];

    public List<long> AbortedSyncs { get; } = [];

    /// <summary>When true, Readies are taken but neither persisted nor advanced (see <see cref="Held"/>).</summary>
    public bool HoldReadies { get; set; }

    public Ready? Held { get; private set; }

    public ZabStatus Status => Core.Status;

    /// <summary>Messages sent since the last call.</summary>
    public List<ZabMessage> Step(ZabInput input)
    {
        Core.Step(input);
        return Drain();
    }

    public List<ZabMessage> Tick(int times = 1)
    {
        var sent = new List<ZabMessage>();
        for (int i = 0; i < times; i++)
        {
            Core.Tick();
            sent.AddRange(Drain());
        }

        return sent;
    }

    public List<ZabMessage> Drain()
    {
        var sent = new List<ZabMessage>();
        while (Held is null && Core.TryGetReady(out Ready? ready))
        {
            if (HoldReadies)
            {
                Held = ready;
                break;
            }

            sent.AddRange(Complete(ready));
        }

        return sent;
    }

    /// <summary>Carries out the held Ready (persist, send, apply, advance) and drains the rest.</summary>
    public List<ZabMessage> Release()
    {
        Ready ready = Held ?? throw new InvalidOperationException("no Ready held");
        Held = null;
        HoldReadies = false;
        var sent = Complete(ready);
        sent.AddRange(Drain());
        return sent;
    }

    private List<ZabMessage> Complete(Ready ready)
    {
        Readies.Add(ready);
        Storage.Persist(ready);
        Sent.AddRange(ready.Messages);
        Applied.AddRange(ready.CommittedEntries);
        CompletedSyncs.AddRange(ready.CompletedSyncs);
        AbortedSyncs.AddRange(ready.AbortedSyncs);
        Core.Advance(ready);
        return [.. ready.Messages];
    }

    /// <summary>Makes this node conclude an election for <paramref name="leader"/> by telling it that a quorum of the
    /// other voters already follow that leader (the notifications an established ensemble answers with).</summary>
    public List<ZabMessage> JoinEstablished(long leader, long round = 1, long peerEpoch = 0)
    {
        var sent = new List<ZabMessage>();
        var vote = new Vote(leader, 0, peerEpoch);
        foreach (long voter in Options.Membership.Voters.Where(v => v != Id))
        {
            sent.AddRange(Step(new Notification(voter, Id, vote, round, voter == leader ? PeerState.Leading : PeerState.Following)));
        }

        return sent;
    }

    /// <summary>The nonce of the last FOLLOWERINFO among <paramref name="messages"/> (tests playing the leader use it as
    /// the link id too).</summary>
    public static long LinkOf(IEnumerable<ZabMessage> messages) => messages.OfType<FollowerInfo>().Last().LinkId;

    /// <summary>The link id this node (as leader) gave <paramref name="learner"/> in its last LEADERINFO.</summary>
    public long LinkTo(long learner) => Sent.OfType<LeaderInfo>().Last(m => m.To == learner).LinkId;
}
