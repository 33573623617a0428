using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>
/// A ZooKeeper operation failed with a <see cref="ErrorCode"/>, exactly as <c>KeeperException</c> reports it.
/// </summary>
/// <remarks>
/// <para><see cref="ErrorCode.ConnectionLoss"/>: the connection broke while the operation was queued or in flight. The
/// session may well survive (the client reconnects), and the operation may or may not have been applied: check before
/// retrying a non-idempotent write.</para>
/// <para><see cref="ErrorCode.SessionExpired"/>: the server expired the session. Its ephemerals are gone and its watches
/// are lost; the client is dead and a new one must be created.</para>
/// </remarks>
public class KeeperException : Exception
{
    /// <summary>Creates an exception for <paramref name="code"/> on <paramref name="path"/>.</summary>
    public KeeperException(ErrorCode code, string? path = null, string? detail = null)
        : base(FormatMessage(code, path, detail))
    {
        Code = code;
        Path = path;
    }

    /// <summary>The ZooKeeper error code.</summary>
    public ErrorCode Code { get; }

    /// <summary>The client path of the failed operation, when it had one.</summary>
    public string? Path { get; }

    /// <summary>For a failed multi: the result of every operation (the failing one and the rest as errors).</summary>
    public IReadOnlyList<OpResult>? Results { get; init; }

    /// <summary>The message Java's <c>KeeperException.getMessage()</c> prints, e.g. <c>KeeperErrorCode = NoNode for /a</c>.</summary>
    public static string FormatMessage(ErrorCode code, string? path, string? detail = null)
    {
        var text = "KeeperErrorCode = " + CodeText(code) + (path is null ? "" : " for " + path);
        return detail is null ? text : text + " (" + detail + ")";
    }

    /// <summary>The text Java's <c>KeeperException.Code</c> uses in messages (<c>NoNode</c>, <c>Directory not empty</c> ...).</summary>
    public static string CodeText(ErrorCode code) => code switch
    {
        ErrorCode.Ok => "ok",
        ErrorCode.SystemError => "SystemError",
        ErrorCode.RuntimeInconsistency => "RuntimeInconsistency",
        ErrorCode.DataInconsistency => "DataInconsistency",
        ErrorCode.ConnectionLoss => "ConnectionLoss",
        ErrorCode.MarshallingError => "MarshallingError",
        ErrorCode.Unimplemented => "Unimplemented",
        ErrorCode.OperationTimeout => "OperationTimeout",
        ErrorCode.BadArguments => "BadArguments",
        ErrorCode.UnknownSession => "UnknownSession",
        ErrorCode.NewConfigNoQuorum => "NewConfigNoQuorum",
        ErrorCode.ReconfigInProgress => "ReconfigInProgress",
        ErrorCode.ApiError => "APIError",
        ErrorCode.NoNode => "NoNode",
        ErrorCode.NoAuth => "NoAuth",
        ErrorCode.BadVersion => "BadVersion",
        ErrorCode.NoChildrenForEphemerals => "NoChildrenForEphemerals",
        ErrorCode.NodeExists => "NodeExists",
        ErrorCode.NotEmpty => "Directory not empty",
        ErrorCode.SessionExpired => "Session expired",
        ErrorCode.InvalidCallback => "Invalid callback",
        ErrorCode.InvalidAcl => "InvalidACL",
        ErrorCode.AuthFailed => "AuthFailed",
        ErrorCode.SessionMoved => "Session moved",
        ErrorCode.NotReadOnly => "Not a read-only call",
        ErrorCode.EphemeralOnLocalSession => "Ephemeral node on local session",
        ErrorCode.NoWatcher => "No such watcher",
        ErrorCode.RequestTimeout => "Request timeout",
        ErrorCode.ReconfigDisabled => "Reconfig is disabled",
        ErrorCode.SessionClosedRequireSaslAuth => "Session closed because client failed to authenticate",
        ErrorCode.QuotaExceeded => "Quota has exceeded",
        ErrorCode.Throttled => "Op throttled due to high load",
        _ => "Unknown error " + (int)code,
    };

    /// <summary>True for the errors after which a retry on the same session may succeed (connection loss, timeouts).</summary>
    public bool IsRetryable => Code is ErrorCode.ConnectionLoss or ErrorCode.OperationTimeout or ErrorCode.RequestTimeout or ErrorCode.Throttled;
}
