namespace Zooflow.Consensus;

/// <summary>
/// An always-on consensus invariant failed (STYLE convention 7): the node's state or its inputs contradict the protocol,
/// for example a log out of order, a commit beyond what a quorum has acknowledged or beyond the log, or two leaders in
/// one epoch. Continuing could corrupt replicated state, so the driver must not catch this except to stop the process
/// (ZooKeeper exits in the same situations, e.g. <c>ExitCode.UNMATCHED_TXN_COMMIT</c>). The node is unusable afterwards.
/// </summary>
public sealed class ZabInvariantException : Exception
{
    /// <summary>Creates the exception with a message naming the invariant and the values that broke it.</summary>
    public ZabInvariantException(string message)
        : base("Zab invariant violated: " + message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ZabInvariantException()
        : base("Zab invariant violated")
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public ZabInvariantException(string message, Exception innerException)
        : base("Zab invariant violated: " + message, innerException)
    {
    }
}
