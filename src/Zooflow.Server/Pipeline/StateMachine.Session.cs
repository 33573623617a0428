using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Network;
using Zooflow.Server.Sessions;

namespace Zooflow.Server.Pipeline;

// Session life: connect (new or resumed), disconnect, expiry, closeSession, auth packets, pings; and request dispatch.
internal sealed partial class StateMachine
{
    private void HandleConnect(ConnectWork work)
    {
        var connection = work.Connection;
        var request = work.Request;
        if (connection.Closing)
        {
            return;
        }

        if (!_serving)
        {
            // ZooKeeper closes a connection while its server is not running (LOOKING, or cut off from its quorum): the
            // client moves on to the next server of its connect string.
            Quorum.QuorumLog.RefusedNotServing(_server.Logger, connection.Remote, _driver?.Status.ServerStateName ?? "stopped");
            connection.Abort();
            return;
        }

        if (request.ProtocolVersion != 0)
        {
            ServerLog.BadProtocolVersion(_server.Logger, connection.Remote, request.ProtocolVersion);
            connection.Abort();
            return;
        }

        if (request.LastZxidSeen > _tree.LastProcessedZxid)
        {
            // ZooKeeper: "Refusing session request for client ... as it has seen zxid ... our last zxid is ...".
            ServerLog.ClientAhead(_server.Logger, connection.Remote, request.LastZxidSeen, _tree.LastProcessedZxid);
            connection.Abort();
            return;
        }

        var timeoutMs = _server.Options.NegotiateSessionTimeoutMs(request.TimeOutMs);
        var now = _server.NowMs();
        if (request.SessionId == 0)
        {
            var session = _sessions.Create(timeoutMs, now);
            Attach(session, connection);
            if (_driver is not null)
            {
                SubmitReplicated(session, Quorum.ForwardedWrite.CreateSession(session.Id, timeoutMs), new PendingRequest(null) { ConnectOn = connection });
                return;
            }

            var prepared = _preparer.PrepareCreateSession(session.Id, timeoutMs, NextZxid(), now);
            var zxid = Submit(prepared);
            session.Pending.Enqueue(new PendingRequest(null) { ConnectOn = connection, Zxid = zxid, Ready = zxid == 0 });
            return;
        }

        if (!_sessions.TryGet(request.SessionId, out var existing) || existing.State is SessionState.Closing or SessionState.Closed)
        {
            if (_driver is not null && !work.Revalidated && existing is null)
            {
                // Ensemble: the session may have been created through another member moments ago and not be applied
                // here yet. A sync brings this server up to date with everything committed before it; then decide.
                Revalidate(work);
                return;
            }

            RefuseReconnect(connection, request.SessionId, "session expired or unknown");
            return;
        }

        if (!CryptographicEquals(existing.Password, request.Password))
        {
            RefuseReconnect(connection, request.SessionId, "wrong password");
            return;
        }

        if (existing.Connection is { } old && old != connection)
        {
            // The client moved to a new connection; the old one is dead to it (ZooKeeper closes it too).
            _watches.RemoveSession(existing.Id);
            old.Session = null;
            old.Abort();
        }

        existing.TimeoutMs = timeoutMs;
        Attach(existing, connection);
        if (existing.State == SessionState.Creating || existing.Pending.Count > 0)
        {
            existing.Pending.Enqueue(new PendingRequest(null) { ConnectOn = connection, Ready = true });
            Drain(existing);
        }
        else
        {
            SendConnectResponse(connection, existing);
        }
    }

    private void Attach(Session session, ClientConnection connection)
    {
        session.Connection = connection;
        connection.Session = session;
        _sessions.Touch(session, _server.NowMs());
    }

    private static bool CryptographicEquals(byte[] expected, byte[]? actual) =>
        actual is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, actual);

    private void RefuseReconnect(ClientConnection connection, long sessionId, string reason)
    {
        // ZooKeeper's finishSessionInit(cnxn, false): timeout 0, session 0, a zero password, then close.
        ServerLog.ReconnectRefused(_server.Logger, sessionId, connection.Remote, reason);
        connection.SendRecord(new ConnectResponse(0, 0, 0, EmptyPassword, false));
        MarkDirty(connection);
        connection.CloseAfterSend();
    }

    private void SendConnectResponse(ClientConnection connection, Session session)
    {
        if (connection.Session != session || connection.Closing)
        {
            return;
        }

        ServerLog.SessionEstablished(_server.Logger, session.Id, connection.Remote, session.TimeoutMs);
        connection.SendRecord(new ConnectResponse(0, session.TimeoutMs, session.Id, session.Password, false));
        MarkDirty(connection);
    }

    private void HandleDisconnected(ClientConnection connection)
    {
        if (connection.Session is { } session && session.Connection == connection)
        {
            // The session outlives its connection until its timeout; its watches belong to the connection, as in
            // ZooKeeper, and come back with the client's setWatches after it reconnects.
            session.Connection = null;
            _watches.RemoveSession(session.Id);
        }

        connection.Session = null;
        connection.CloseAfterSend();
    }

    private void ExpireSessions()
    {
        if (_driver is not null)
        {
            // Ensemble: only the established leader expires sessions (global sessions); learners report touches.
            ReportTouchedSessions();
            if (!_leaderReady)
            {
                return;
            }
        }

        var now = _server.NowMs();
        foreach (var session in _sessions.TakeExpired(now))
        {
            ServerLog.SessionExpired(_server.Logger, session.Id, session.TimeoutMs);
            CloseSession(session, null);
        }
    }

    /// <summary>Starts closing a session through the pipeline (expiry, or the client's closeSession request).</summary>
    private void CloseSession(Session session, RequestWork? request)
    {
        session.State = SessionState.Closing;
        if (_driver is not null)
        {
            SubmitReplicated(session, Quorum.ForwardedWrite.CloseSession(session.Id, request?.Header.Xid ?? 0),
                request is null ? null : new PendingRequest(request));
            return;
        }

        var prepared = _preparer.PrepareCloseSession(session.Id, request?.Header.Xid ?? 0, NextZxid(), _server.NowMs());
        var zxid = Submit(prepared);
        if (request is not null)
        {
            session.Pending.Enqueue(new PendingRequest(request) { Zxid = zxid, Ready = zxid == 0 });
            Drain(session);
        }
    }

    /// <summary>The close transaction applied: the session is gone.</summary>
    private void EndSession(Session session)
    {
        session.State = SessionState.Closed;
        _sessions.Remove(session);
        _watches.RemoveSession(session.Id);
    }

    private void HandleRequest(RequestWork request)
    {
        var connection = request.Connection;
        if (connection.Closing)
        {
            return;
        }

        if (!request.Known || request.Header.Type is OpCode.Check or OpCode.Notification or OpCode.CreateSession)
        {
            // ZooKeeper's UnimplementedRequestProcessor: reply Unimplemented, then close the connection.
            if (request.Known)
            {
                ServerLog.UnknownOpCode(_server.Logger, connection.Remote, (int)request.Header.Type);
            }

            connection.SendReply(new ReplyHeader(request.Header.Xid, _tree.LastProcessedZxid, ErrorCode.Unimplemented), null);
            MarkDirty(connection);
            connection.CloseAfterSend();
            return;
        }

        if (connection.Session is not { } session)
        {
            // No session (the handshake was refused or never happened): nothing to answer to.
            connection.Abort();
            return;
        }

        Interlocked.Increment(ref connection.Outstanding);
        try
        {
            if (session.State is SessionState.Closing or SessionState.Closed)
            {
                Reply(request, ErrorCode.SessionExpired, null, "NA");
                return;
            }

            _sessions.Touch(session, _server.NowMs());
            if (_driver is not null && !session.Touched)
            {
                session.Touched = true;
                _touched.Add(session);
            }

            switch (request.Header.Type)
            {
                case OpCode.Auth:
                    HandleAuth(session, request);
                    return;
                case OpCode.CloseSession:
                    CloseSession(session, request);
                    return;
                case OpCode.Sync when _driver is not null:
                    SubmitSync(session, request);
                    return;
            }

            if (IsWrite(request.Header.Type))
            {
                SubmitWrite(session, request);
            }
            else if (session.Pending.Count == 0)
            {
                ExecuteRead(session, request);
            }
            else
            {
                session.Pending.Enqueue(new PendingRequest(request) { Ready = true });
            }
        }
        finally
        {
            Interlocked.Decrement(ref connection.Outstanding);
        }
    }

    private static bool IsWrite(OpCode type) => type is OpCode.Create or OpCode.Create2 or OpCode.CreateContainer
        or OpCode.CreateTtl or OpCode.Delete or OpCode.SetData or OpCode.SetAcl or OpCode.Multi or OpCode.CloseSession;

    private void HandleAuth(Session session, RequestWork request)
    {
        var connection = request.Connection;
        var packet = (AuthPacket)request.Body!;
        IReadOnlyList<Id>? ids = null;
        if (packet.Scheme == DigestAuthenticationProvider.Scheme)
        {
            // Like ZooKeeper, any text authenticates as the digest of itself; only unknown schemes fail.
            ids = DigestAuthenticationProvider.Authenticate(packet.Auth, _server.Options.SuperDigest);
        }
        else if (packet.Scheme == IpAuthenticationProvider.Scheme)
        {
            ids = [connection.AuthIds[0]];
        }

        if (ids is null)
        {
            // ZooKeeper: reply AuthFailed (the client raises the AuthFailed event itself), then close the connection.
            ServerLog.AuthFailed(_server.Logger, connection.Remote, session.Id, packet.Scheme);
            connection.SendReply(new ReplyHeader(Xids.Auth, 0, ErrorCode.AuthFailed), null);
            MarkDirty(connection);
            connection.CloseAfterSend();
            return;
        }

        foreach (var id in ids)
        {
            if (!connection.AuthIds.Contains(id))
            {
                connection.AuthIds.Add(id);
            }
        }

        connection.SendReply(new ReplyHeader(Xids.Auth, 0, ErrorCode.Ok), null);
        MarkDirty(connection);
    }
}
