using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>
/// A watch notification or a connection-state change as delivered to watchers (<c>WatchedEvent</c>). State changes have
/// <see cref="EventType.None"/> and a null path; node events carry the client path (chroot stripped).
/// </summary>
/// <param name="Type">What happened to the node, or None for a state change.</param>
/// <param name="State">The connection state when the event was delivered.</param>
/// <param name="Path">The client path, or null for state changes.</param>
public sealed record WatchedEvent(EventType Type, KeeperState State, string? Path)
{
    /// <summary>As Java's <c>WatchedEvent.toString()</c> (zkCli prints it).</summary>
    public override string ToString() => $"WatchedEvent state:{State} type:{Type} path:{Path ?? "null"}";
}

/// <summary>Where a client's connection and session stand.</summary>
public enum ConnectionState
{
    /// <summary>Looking for a server (first connect, or after a connection broke while the session may still live).</summary>
    Connecting,
    /// <summary>Connected with a live session.</summary>
    Connected,
    /// <summary>The server reported the session expired; the client is dead.</summary>
    Expired,
    /// <summary>Authentication failed; the client is dead.</summary>
    AuthFailed,
    /// <summary>Closed by the application.</summary>
    Closed,
}
