using Zooflow.Server.Network;
using Zooflow.Server.Pipeline;

namespace Zooflow.Server.Sessions;

/// <summary>Where a session is in its life.</summary>
internal enum SessionState
{
    /// <summary>Its createSession transaction is on its way through the log; the connect reply waits for it.</summary>
    Creating,
    /// <summary>Established; requests are served.</summary>
    Active,
    /// <summary>Its closeSession transaction (client close or expiry) is in flight; further requests get SessionExpired.</summary>
    Closing,
    /// <summary>Gone.</summary>
    Closed,
}

/// <summary>
/// One client session. Owned by the state machine loop (never touched by another thread): its identity, the identities it
/// authenticated, the connection it is currently attached to (none while the client reconnects), and its queue of
/// requests that must be answered in order (FIFO client order).
/// </summary>
internal sealed class Session
{
    public Session(long id, int timeoutMs, byte[] password)
    {
        Id = id;
        TimeoutMs = timeoutMs;
        Password = password;
    }

    /// <summary>The session id handed to the client.</summary>
    public long Id { get; }

    /// <summary>The negotiated timeout (renegotiated on reconnect, as ZooKeeper's touchSession does).</summary>
    public int TimeoutMs { get; set; }

    /// <summary>The 16-byte password a reconnecting client must present.</summary>
    public byte[] Password { get; }

    /// <summary>Lifecycle state.</summary>
    public SessionState State { get; set; } = SessionState.Creating;

    /// <summary>The tick bucket the session expires in (ms since the tracker's epoch); see <see cref="SessionTracker"/>.</summary>
    public long ExpiresAtMs { get; set; }

    /// <summary>The connection currently attached, or null while the client is away.</summary>
    public ClientConnection? Connection { get; set; }

    /// <summary>Ensemble learner: touched by its client since the last session report to the leader.</summary>
    public bool Touched { get; set; }

    /// <summary>Requests of this session not yet answered, in arrival order. A write at the head waits for its transaction
    /// to be applied; reads behind it wait too (FIFO order); nothing waits for other sessions.</summary>
    public Queue<PendingRequest> Pending { get; } = new();

}
