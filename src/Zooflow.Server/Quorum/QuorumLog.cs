using System.Net;
using Microsoft.Extensions.Logging;

namespace Zooflow.Server.Quorum;

/// <summary>Log lines of the replicated ensemble (6xxx): peer transport 60xx, consensus driver 61xx, roles 62xx.
/// Payload bytes are never logged.</summary>
internal static partial class QuorumLog
{
    [LoggerMessage(6001, LogLevel.Information, "Listening for peers on {Endpoint} ({Channel})")]
    public static partial void PeerListening(ILogger logger, EndPoint endpoint, PeerChannel channel);

    [LoggerMessage(6002, LogLevel.Information, "Connected to server {Peer} at {Endpoint} ({Channel})")]
    public static partial void PeerConnected(ILogger logger, long peer, string endpoint, PeerChannel channel);

    [LoggerMessage(6003, LogLevel.Information, "Connection to server {Peer} ({Channel}) lost: {Reason}")]
    public static partial void PeerConnectionLost(ILogger logger, long peer, PeerChannel channel, string reason);

    [LoggerMessage(6004, LogLevel.Warning, "Closed peer connection from {Remote} ({Channel}): {Problem}")]
    public static partial void PeerProtocolError(ILogger logger, EndPoint? remote, PeerChannel channel, string problem);

    [LoggerMessage(6005, LogLevel.Warning, "Dropped {Count} message(s) for server {Peer} ({Channel}): send queue full ({Capacity} messages)")]
    public static partial void PeerQueueFull(ILogger logger, int count, long peer, PeerChannel channel, int capacity);

    [LoggerMessage(6006, LogLevel.Warning, "Closed connection to server {Peer} ({Channel}): a send did not complete within {TimeoutMs} ms")]
    public static partial void PeerSendStuck(ILogger logger, long peer, PeerChannel channel, int timeoutMs);

    [LoggerMessage(6007, LogLevel.Debug, "Accepted peer connection from server {Peer} at {Remote} ({Channel})")]
    public static partial void PeerAccepted(ILogger logger, long peer, EndPoint? remote, PeerChannel channel);

    [LoggerMessage(6008, LogLevel.Debug, "Cannot connect to server {Peer} at {Endpoint} ({Channel}): {Reason}")]
    public static partial void PeerConnectFailed(ILogger logger, long peer, string endpoint, PeerChannel channel, string reason);

    [LoggerMessage(6101, LogLevel.Information, "Consensus: {Event}")]
    public static partial void ConsensusEvent(ILogger logger, string @event);

    [LoggerMessage(6102, LogLevel.Debug, "Consensus: {Event}")]
    public static partial void ConsensusIgnored(ILogger logger, string @event);

    [LoggerMessage(6103, LogLevel.Information, "Server {ServerId} is now {State} (phase {Phase}, leader {Leader}, epoch {Epoch}, serving {Serving}, last zxid 0x{LastZxid:x})")]
    public static partial void RoleChanged(ILogger logger, long serverId, string state, string phase, long leader, long epoch, bool serving, long lastZxid);

    [LoggerMessage(6104, LogLevel.Critical, "Stopping: {Reason}")]
    public static partial void Fatal(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(6105, LogLevel.Information, "Snapshot at zxid 0x{Zxid:x} ({Bytes} bytes) sent to learner {Learner}")]
    public static partial void SnapshotProvided(ILogger logger, long zxid, long bytes, long learner);

    [LoggerMessage(6106, LogLevel.Information, "Installed the leader's snapshot at zxid 0x{Zxid:x} ({Bytes} bytes, {Nodes} znodes)")]
    public static partial void SnapshotInstalled(ILogger logger, long zxid, long bytes, int nodes);

    [LoggerMessage(6107, LogLevel.Information, "Truncated the log after zxid 0x{Zxid:x} ({Records} uncommitted record(s) removed)")]
    public static partial void Truncated(ILogger logger, long zxid, long records);

    [LoggerMessage(6108, LogLevel.Warning, "Could not produce a snapshot for learner {Learner}: {Problem}")]
    public static partial void SnapshotFailed(ILogger logger, long learner, string problem);

    [LoggerMessage(6109, LogLevel.Warning, "Dropped a forwarded request from server {From}: {Problem}")]
    public static partial void BadForwardedRequest(ILogger logger, long from, string problem);

    [LoggerMessage(6201, LogLevel.Information, "Closing {Count} client connection(s): this server stopped serving ({Reason})")]
    public static partial void StoppedServing(ILogger logger, int count, string reason);

    [LoggerMessage(6202, LogLevel.Debug, "Refused client {Client}: this server is not serving (state {State})")]
    public static partial void RefusedNotServing(ILogger logger, EndPoint? client, string state);
}
