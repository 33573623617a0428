namespace Zooflow.Client;

/// <summary>Settings of a <see cref="ZooKeeperClient"/>; validated when the client is created.</summary>
public sealed record ZooKeeperClientOptions
{
    /// <summary>The defaults: 10 s session timeout, 1 MiB frames, no auth.</summary>
    public static readonly ZooKeeperClientOptions Default = new();

    /// <summary>Requested session timeout; the server clamps it to [2, 20] ticks.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="ZooKeeperClient.ConnectAsync(string, ZooKeeperClientOptions?, CancellationToken)"/>
    /// waits for the first session; null means the session timeout.</summary>
    public TimeSpan? ConnectTimeout { get; init; }

    /// <summary>Credentials added before any request, and re-sent after every reconnect (scheme, auth bytes).</summary>
    public IReadOnlyList<(string Scheme, byte[] Auth)> AuthInfo { get; init; } = [];

    /// <summary>Called (on the event thread, in order) for state changes and for watches set with <c>watch: true</c>.</summary>
    public Action<WatchedEvent>? DefaultWatcher { get; init; }

    /// <summary>Largest reply frame accepted (jute.maxbuffer on the client). Default 4 MiB to allow big child lists.</summary>
    public int MaxFrameBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Source of randomness for host order and reconnect jitter (inject a seeded one for reproducible tests).</summary>
    public Random? Random { get; init; }

    /// <summary>Accept a read-only session from a server that lost its quorum (the readOnly flag of ConnectRequest).</summary>
    public bool CanBeReadOnly { get; init; }

    /// <summary>Session id and password to resume (e.g. a second client on the same session); 0 for a new session.</summary>
    public (long SessionId, byte[] Password)? ResumeSession { get; init; }

    internal void Validate()
    {
        if (SessionTimeout <= TimeSpan.Zero || SessionTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(SessionTimeout), SessionTimeout, "must be positive");
        }

        if (MaxFrameBytes < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, "must be at least 1024");
        }
    }

    internal static void ValidatePath(string path, bool sequential = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path[0] != '/')
        {
            throw new ArgumentException($"Path must start with / character: '{path}'", nameof(path));
        }

        if (path.Length == 1)
        {
            return;
        }

        if (path[^1] == '/' && !sequential)
        {
            throw new ArgumentException($"Path must not end with / character: '{path}'", nameof(path));
        }

        if (path.Contains("//", StringComparison.Ordinal))
        {
            throw new ArgumentException($"empty node name specified @{path.IndexOf("//", StringComparison.Ordinal) + 1}: '{path}'", nameof(path));
        }
    }
}
