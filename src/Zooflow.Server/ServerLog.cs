using System.Net;
using Microsoft.Extensions.Logging;

namespace Zooflow.Server;

/// <summary>
/// Every log line the server writes, with fixed EventIds per area (STYLE.md 8): 1xxx listener/connections, 2xxx
/// sessions, 3xxx request pipeline, 4xxx four-letter words, 5xxx lifecycle. Payload bytes are never logged.
/// </summary>
internal static partial class ServerLog
{
    [LoggerMessage(1001, LogLevel.Information, "Listening for clients on {Endpoint}")]
    public static partial void Listening(ILogger logger, EndPoint endpoint);

    [LoggerMessage(1002, LogLevel.Warning, "Refused connection from {Client}: {Count} connections from that address already, maxClientCnxns={Max}")]
    public static partial void TooManyConnections(ILogger logger, EndPoint? client, int count, int max);

    [LoggerMessage(1003, LogLevel.Warning, "Closed connection from {Client}: frame length {Length} exceeds jute.maxbuffer {Max}")]
    public static partial void FrameTooLarge(ILogger logger, EndPoint? client, long length, int max);

    [LoggerMessage(1004, LogLevel.Warning, "Closed connection from {Client}: malformed request ({Problem})")]
    public static partial void MalformedFrame(ILogger logger, EndPoint? client, string problem);

    [LoggerMessage(1005, LogLevel.Warning, "Closed connection from {Client}: unknown opcode {OpCode} (replied Unimplemented)")]
    public static partial void UnknownOpCode(ILogger logger, EndPoint? client, int opCode);

    [LoggerMessage(1006, LogLevel.Warning, "Closed connection from {Client}: connection ended inside a frame ({Buffered} bytes of an incomplete frame)")]
    public static partial void TruncatedFrame(ILogger logger, EndPoint? client, long buffered);

    [LoggerMessage(1007, LogLevel.Warning, "Closed connection from {Client} (session 0x{SessionId:x}): {Bytes} reply bytes unsent, above the limit of {Max}; the client is not reading")]
    public static partial void SlowClient(ILogger logger, EndPoint? client, long sessionId, long bytes, long max);

    [LoggerMessage(1008, LogLevel.Debug, "Connection from {Client} closed")]
    public static partial void ConnectionClosed(ILogger logger, EndPoint? client);

    [LoggerMessage(1009, LogLevel.Warning, "Closed connection from {Client}: unsupported protocol version {Version} in connect request")]
    public static partial void BadProtocolVersion(ILogger logger, EndPoint? client, int version);

    [LoggerMessage(1010, LogLevel.Warning, "Closed connection from {Client}: client has seen zxid 0x{ClientZxid:x}, our last zxid is 0x{ServerZxid:x}")]
    public static partial void ClientAhead(ILogger logger, EndPoint? client, long clientZxid, long serverZxid);

    [LoggerMessage(1011, LogLevel.Warning, "Connection from {Client} failed: {Problem}")]
    public static partial void ConnectionFailed(ILogger logger, EndPoint? client, string problem);

    [LoggerMessage(2001, LogLevel.Information, "Session 0x{SessionId:x} established for {Client}, timeout {TimeoutMs} ms")]
    public static partial void SessionEstablished(ILogger logger, long sessionId, EndPoint? client, int timeoutMs);

    [LoggerMessage(2002, LogLevel.Information, "Session 0x{SessionId:x} expired after {TimeoutMs} ms without contact")]
    public static partial void SessionExpired(ILogger logger, long sessionId, int timeoutMs);

    [LoggerMessage(2003, LogLevel.Information, "Refused reconnect of session 0x{SessionId:x} from {Client}: {Reason}")]
    public static partial void ReconnectRefused(ILogger logger, long sessionId, EndPoint? client, string reason);

    [LoggerMessage(2004, LogLevel.Information, "Session 0x{SessionId:x} closed by the client")]
    public static partial void SessionClosed(ILogger logger, long sessionId);

    [LoggerMessage(2005, LogLevel.Warning, "Closed connection from {Client} (session 0x{SessionId:x}): authentication failed for scheme {Scheme}")]
    public static partial void AuthFailed(ILogger logger, EndPoint? client, long sessionId, string scheme);

    [LoggerMessage(3001, LogLevel.Error, "State machine stopped on an unexpected error")]
    public static partial void StateMachineFailed(ILogger logger, Exception exception);

    [LoggerMessage(3002, LogLevel.Error, "Transaction log append of {Count} transactions from zxid 0x{Zxid:x} failed; those writes and the ones prepared after them are answered SystemError, reads go on")]
    public static partial void LogFailed(ILogger logger, int count, long zxid, Exception exception);

    [LoggerMessage(3004, LogLevel.Error, "Closed connection from {Client}: failed to process request type {OpCode} (replied MarshallingError)")]
    public static partial void RequestFailed(ILogger logger, EndPoint? client, int opCode, Exception exception);

    [LoggerMessage(3003, LogLevel.Debug, "Reaper deleting expired {Kind} node {Path}")]
    public static partial void ReaperDelete(ILogger logger, string kind, string path);

    [LoggerMessage(4001, LogLevel.Information, "Processing {Command} command from {Client}")]
    public static partial void FourLetterWord(ILogger logger, string command, EndPoint? client);

    [LoggerMessage(4002, LogLevel.Debug, "Command {Command} from {Client} is not executed because it is not in the whitelist")]
    public static partial void FourLetterWordRefused(ILogger logger, string command, EndPoint? client);

    [LoggerMessage(5001, LogLevel.Information, "zooflow server ready on {Endpoint} (standalone, dataDir {DataDir})")]
    public static partial void Ready(ILogger logger, EndPoint endpoint, string dataDir);

    [LoggerMessage(5002, LogLevel.Information, "Server stopping")]
    public static partial void Stopping(ILogger logger);
}
