using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Zooflow.Server.Sessions;

/// <summary>
/// Live sessions and their expiry, as ZooKeeper's <c>SessionTrackerImpl</c> + <c>ExpiryQueue</c>: each session sits in the
/// bucket of the first tick boundary after its deadline, so expiry work happens once per tick, not per session.
/// Touching a session (any packet from its client) moves it to a later bucket.
/// </summary>
/// <remarks>Not thread-safe: owned by the state machine loop. Time is passed in (ms from the server's
/// <see cref="TimeProvider"/>); the tracker never reads a clock.</remarks>
internal sealed class SessionTracker
{
    private readonly Dictionary<long, Session> _sessions = [];
    private readonly SortedDictionary<long, HashSet<long>> _buckets = [];
    private readonly int _tickMs;
    private readonly byte[] _secret;
    private long _nextSessionId;

    /// <param name="serverId">Top byte of every session id (ZooKeeper's <c>initializeNextSessionId</c>).</param>
    /// <param name="tickMs">Bucket width.</param>
    /// <param name="nowMs">Current time, seeds the id counter like ZooKeeper does, so ids of a restarted server differ.</param>
    /// <param name="secret">Per-server secret that passwords are derived from (injected: tests pass a fixed one).</param>
    public SessionTracker(long serverId, int tickMs, long nowMs, byte[] secret)
    {
        _tickMs = Math.Max(1, tickMs);
        _secret = secret;
        // ZooKeeper: ((currentElapsedTime << 24) >>> 8) | (sid << 56).
        _nextSessionId = (long)((ulong)(nowMs << 24) >> 8) | (serverId << 56);
    }

    /// <summary>Live sessions by id.</summary>
    public IReadOnlyDictionary<long, Session> Sessions => _sessions;

    /// <summary>Expiry buckets (deadline → session ids) for the <c>dump</c> command.</summary>
    public IReadOnlyDictionary<long, HashSet<long>> Buckets => _buckets;

    /// <summary>Creates a session with a fresh id and password.</summary>
    public Session Create(int timeoutMs, long nowMs)
    {
        var id = _nextSessionId++;
        if (id == long.MinValue)
        {
            // The container marker in ephemeralOwner; ZooKeeper skips it too.
            id = _nextSessionId++;
        }

        var session = new Session(id, timeoutMs, PasswordFor(id));
        _sessions.Add(id, session);
        Touch(session, nowMs);
        return session;
    }

    /// <summary>Registers a session restored from elsewhere (durable log recovery, later issue) with its id.</summary>
    public Session Restore(long id, int timeoutMs, long nowMs)
    {
        var session = new Session(id, timeoutMs, PasswordFor(id)) { State = SessionState.Active };
        _sessions[id] = session;
        Touch(session, nowMs);
        return session;
    }

    /// <summary>The password of a session id: HMAC-SHA256(secret, id) truncated to 16 bytes. ZooKeeper seeds
    /// java.util.Random with id ^ secret; any function a client cannot guess without the secret serves.</summary>
    public byte[] PasswordFor(long sessionId)
    {
        Span<byte> idBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(idBytes, sessionId);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_secret, idBytes, mac);
        return mac[..16].ToArray();
    }

    /// <summary>The live session with this id, if any.</summary>
    public bool TryGet(long sessionId, out Session session) => _sessions.TryGetValue(sessionId, out session!);

    /// <summary>Moves the session's deadline to now + timeout, rounded up to the next tick boundary.</summary>
    public void Touch(Session session, long nowMs)
    {
        var expiresAt = RoundToTick(nowMs + session.TimeoutMs);
        if (expiresAt == session.ExpiresAtMs)
        {
            return;
        }

        RemoveFromBucket(session);
        session.ExpiresAtMs = expiresAt;
        if (!_buckets.TryGetValue(expiresAt, out var bucket))
        {
            bucket = [];
            _buckets.Add(expiresAt, bucket);
        }

        bucket.Add(session.Id);
    }

    /// <summary>Forgets a session (closed or expired and its close transaction applied).</summary>
    public void Remove(Session session)
    {
        RemoveFromBucket(session);
        _sessions.Remove(session.Id);
    }

    /// <summary>Takes every session whose deadline is at or before <paramref name="nowMs"/> out of the buckets and returns
    /// them; the caller closes them through the pipeline. Sessions already closing are skipped.</summary>
    public List<Session> TakeExpired(long nowMs)
    {
        var expired = new List<Session>();
        while (_buckets.Count > 0)
        {
            using var enumerator = _buckets.GetEnumerator();
            enumerator.MoveNext();
            var (deadline, ids) = enumerator.Current;
            if (deadline > nowMs)
            {
                break;
            }

            _buckets.Remove(deadline);
            foreach (var id in ids)
            {
                if (_sessions.TryGetValue(id, out var session))
                {
                    session.ExpiresAtMs = 0;
                    if (session.State is SessionState.Active or SessionState.Creating)
                    {
                        expired.Add(session);
                    }
                }
            }
        }

        return expired;
    }

    private long RoundToTick(long timeMs) => (timeMs / _tickMs + 1) * _tickMs;

    private void RemoveFromBucket(Session session)
    {
        if (session.ExpiresAtMs != 0 && _buckets.TryGetValue(session.ExpiresAtMs, out var old))
        {
            old.Remove(session.Id);
            if (old.Count == 0)
            {
                _buckets.Remove(session.ExpiresAtMs);
            }
        }

        session.ExpiresAtMs = 0;
    }
}
