namespace Zooflow.TestKit.Linearizability;

/// <summary>What an operation on a <see cref="VersionedRegisterModel"/> does.</summary>
public enum RegisterOpKind
{
    /// <summary>getData: observes value and version.</summary>
    Read,

    /// <summary>setData with version -1: always applies, bumps the version.</summary>
    Write,

    /// <summary>setData with an expected version (or multi check+setData): applies only if the version matches.</summary>
    CompareAndSet,
}

/// <summary>How an operation ended, as Jepsen records it.</summary>
public enum OpOutcome
{
    /// <summary>Succeeded; its output is known.</summary>
    Ok,

    /// <summary>Definitely did not take effect (e.g. BadVersion).</summary>
    Fail,

    /// <summary>Indeterminate (connection loss, timeout): it may or may not have taken effect.</summary>
    Info,
}

/// <summary>The state of a znode used as a register: its data version and a value id (0 = the initial data).</summary>
public readonly record struct RegisterState(int Version, long Value)
{
    public override string ToString() => $"(version {Version}, value {Value})";
}

/// <summary>
/// One register operation with its observed output.
/// </summary>
/// <param name="Kind">Read, write or compare-and-set.</param>
/// <param name="Outcome">Ok, fail or info.</param>
/// <param name="Value">Read: the value seen; write and CAS: the value written. Values written are unique per op.</param>
/// <param name="ExpectedVersion">CAS only: the version it requires.</param>
/// <param name="Version">Ok read: the version seen; ok write/CAS: the version the write produced (from the returned Stat).</param>
public sealed record RegisterOp(RegisterOpKind Kind, OpOutcome Outcome, long Value, int ExpectedVersion = -1, int Version = -1)
{
    public override string ToString() => (Kind, Outcome) switch
    {
        (RegisterOpKind.Read, OpOutcome.Ok) => $"read -> (version {Version}, value {Value})",
        (RegisterOpKind.Read, _) => $"read -> {Outcome}",
        (RegisterOpKind.Write, OpOutcome.Ok) => $"write {Value} -> version {Version}",
        (RegisterOpKind.Write, _) => $"write {Value} -> {Outcome}",
        (RegisterOpKind.CompareAndSet, OpOutcome.Ok) => $"cas version {ExpectedVersion} -> {Value}: ok, version {Version}",
        (RegisterOpKind.CompareAndSet, _) => $"cas version {ExpectedVersion} -> {Value}: {Outcome}",
        _ => base.ToString()!,
    };
}

/// <summary>
/// A znode's data as a register with ZooKeeper's data version: every successful setData replaces the value and adds
/// one to the version, a conditional setData applies only when the version matches (else BadVersion), and getData
/// returns both. Starts at (version 0, value 0) — the znode as created before the test.
/// </summary>
/// <remarks>
/// The version makes histories much cheaper to check than a plain register: an acknowledged write names its place in
/// the write order. The model also rejects a definite failure of a read or an unconditional write (the register is never
/// deleted, so NoNode would mean it was lost).
/// </remarks>
public sealed class VersionedRegisterModel : ISequentialModel<RegisterState, RegisterOp>
{
    /// <summary>The one instance (the model has no settings).</summary>
    public static readonly VersionedRegisterModel Instance = new();

    public RegisterState Initial => new(0, 0);

    public bool TryStep(RegisterState state, RegisterOp op, out RegisterState next)
    {
        next = state;
        switch (op.Kind, op.Outcome)
        {
            case (RegisterOpKind.Read, OpOutcome.Ok):
                return state.Version == op.Version && state.Value == op.Value;
            case (RegisterOpKind.Read, OpOutcome.Info):
                return true;
            case (RegisterOpKind.Write, OpOutcome.Ok):
                next = new RegisterState(op.Version, op.Value);
                return op.Version == state.Version + 1;
            case (RegisterOpKind.Write, OpOutcome.Info):
                next = new RegisterState(state.Version + 1, op.Value);
                return true;
            case (RegisterOpKind.CompareAndSet, OpOutcome.Ok):
                next = new RegisterState(op.Version, op.Value);
                return state.Version == op.ExpectedVersion && op.Version == op.ExpectedVersion + 1;
            case (RegisterOpKind.CompareAndSet, OpOutcome.Fail):
                return state.Version != op.ExpectedVersion;
            case (RegisterOpKind.CompareAndSet, OpOutcome.Info):
                if (state.Version == op.ExpectedVersion)
                {
                    next = new RegisterState(op.ExpectedVersion + 1, op.Value);
                }

                return true;
            default:
                // A definite failure of a read or an unconditional write: the register vanished.
                return false;
        }
    }
}
