namespace Zooflow.TestKit.Servers;

/// <summary>
/// A replicated ensemble of real server processes on loopback, with the faults a Jepsen-style test injects: SIGKILL and
/// restart, SIGSTOP/SIGCONT, and cuts of the quorum links between members. Members are numbered 1..<see cref="Size"/>
/// (their <c>myid</c>).
/// </summary>
/// <remarks>
/// Contract: every method acts only on processes the ensemble started, by PID. Faults stay until undone:
/// <see cref="RestartAsync"/> after <see cref="Kill"/>, <see cref="Resume"/> after <see cref="Pause"/>, <see cref="HealLinks"/>
/// after <see cref="Partition"/>/<see cref="Cut"/>. Status queries use the <c>srvr</c> four-letter word on the member's
/// client port, answer within a bounded time, and report <see cref="MemberMode.Unreachable"/> for a member that is
/// down or paused. Thread-safety: the fault methods are meant for one nemesis; the queries may run concurrently.
/// </remarks>
public interface IEnsemble : IAsyncDisposable
{
    /// <summary>Which server runs the members.</summary>
    ServerKind Kind { get; }

    /// <summary>Number of voting members.</summary>
    int Size { get; }

    /// <summary>The members' ids, 1..<see cref="Size"/>.</summary>
    IReadOnlyList<int> MemberIds { get; }

    /// <summary>The connect string naming every member (<c>127.0.0.1:p1,127.0.0.1:p2,...</c>).</summary>
    string ConnectString { get; }

    /// <summary>The directory holding every member's zoo.cfg, data and log (kept on disk when <see cref="KeepFiles"/>).</summary>
    string RootDirectory { get; }

    /// <summary>Keep the members' directories after disposal (set it when a test fails, to read the logs).</summary>
    bool KeepFiles { get; set; }

    /// <summary>The connect string naming only member <paramref name="id"/>.</summary>
    string MemberConnectString(int id);

    /// <summary>The member's client port.</summary>
    int ClientPort(int id);

    /// <summary>True while the member's process runs (paused or not).</summary>
    bool IsRunning(int id);

    /// <summary>True while the member is stopped by <see cref="Pause"/>.</summary>
    bool IsPaused(int id);

    /// <summary>The member's <c>srvr</c> status; <see cref="MemberMode.Unreachable"/> when it does not answer in time.</summary>
    Task<MemberStatus> StatusAsync(int id, CancellationToken cancellationToken);

    /// <summary>Every member's status, queried concurrently.</summary>
    Task<IReadOnlyList<MemberStatus>> StatusAllAsync(CancellationToken cancellationToken);

    /// <summary>The id of the one member reporting <c>Mode: leader</c> (among running, unpaused members), or null when
    /// there is none or more than one.</summary>
    Task<int?> FindLeaderAsync(CancellationToken cancellationToken);

    /// <summary>Waits until at least <paramref name="minServing"/> members serve (leader or follower) with exactly one
    /// leader among them.</summary>
    /// <exception cref="TimeoutException">Not reached within <paramref name="timeout"/>; the message lists every
    /// member's status.</exception>
    Task WaitServingAsync(int minServing, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>SIGKILL: the member dies at once, without flushing anything it had not already written.</summary>
    void Kill(int id);

    /// <summary>Starts a killed member again on the same ports and data directory, and waits until it answers
    /// <c>srvr</c> (not until it serves: it may still be electing or syncing).</summary>
    Task RestartAsync(int id, CancellationToken cancellationToken);

    /// <summary>SIGSTOP: the member freezes (it cannot notice or catch it).</summary>
    void Pause(int id);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    void Resume(int id);

    /// <summary>Cuts every quorum and election link between members in different <paramref name="components"/> (both
    /// directions); links inside a component stay up. Members not named are left connected to everyone.</summary>
    void Partition(IReadOnlyList<IReadOnlyCollection<int>> components, LinkFault fault);

    /// <summary>Cuts the quorum and election links between <paramref name="a"/> and <paramref name="b"/>, both directions.</summary>
    void Cut(int a, int b, LinkFault fault);

    /// <summary>Heals every cut link.</summary>
    void HealLinks();

    /// <summary>The member's recent output and log, for failure messages.</summary>
    string DescribeMember(int id);
}

/// <summary>What <c>srvr</c> says a member is doing.</summary>
public enum MemberMode
{
    /// <summary>No answer in time (killed, paused, or starved).</summary>
    Unreachable,

    /// <summary>It answered but is not serving (electing or syncing): "not currently serving requests".</summary>
    NotServing,

    /// <summary><c>Mode: leader</c>.</summary>
    Leader,

    /// <summary><c>Mode: follower</c>.</summary>
    Follower,

    /// <summary><c>Mode: observer</c>.</summary>
    Observer,

    /// <summary><c>Mode: standalone</c>: the server ignored the ensemble configuration.</summary>
    Standalone,
}

/// <summary>One member's <c>srvr</c> answer.</summary>
/// <param name="Id">The member.</param>
/// <param name="Mode">What it is doing.</param>
/// <param name="Zxid">The last zxid it processed, when it said (the epoch is the top 32 bits).</param>
public sealed record MemberStatus(int Id, MemberMode Mode, long? Zxid)
{
    /// <summary>True for leader, follower and observer.</summary>
    public bool IsServing => Mode is MemberMode.Leader or MemberMode.Follower or MemberMode.Observer;

    public override string ToString() =>
        $"{Id}:{Mode}" + (Zxid is { } z ? $"@0x{z:x}" : "");
}

/// <summary>How a cut link fails.</summary>
public enum LinkFault
{
    /// <summary>Connections are closed and new ones refused at once (like a reset): both ends notice immediately.</summary>
    Refuse,

    /// <summary>Nothing moves and nothing is closed (like lost packets): only timeouts notice.</summary>
    Blackhole,
}

/// <summary>The server does not run ensembles: it refused the <c>server.N</c> configuration or ran it standalone.</summary>
public sealed class EnsembleNotSupportedException(string message) : Exception(message);
