using System.Diagnostics;
using System.Globalization;
using System.Text;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>What a client asked for.</summary>
public enum JepsenOpType
{
    /// <summary>getData on a register: sequentially consistent (may be stale, never older than the session saw).</summary>
    Read,

    /// <summary>sync then getData on the same session: the read reflects every write acknowledged before the sync.</summary>
    SyncRead,

    /// <summary>setData with version -1.</summary>
    Write,

    /// <summary>setData with the version last seen (or multi check+setData).</summary>
    CompareAndSet,

    /// <summary>create of a persistent sequential znode under the sequence parent.</summary>
    CreateSequential,
}

/// <summary>
/// One operation as a Jepsen history records it: filled at invocation, completed once. Times are
/// <see cref="Stopwatch"/> ticks (monotonic).
/// </summary>
public sealed class JepsenOp
{
    /// <summary>Unique in the history.</summary>
    public required int Id { get; init; }

    /// <summary>The logical client (one op at a time).</summary>
    public required int Client { get; init; }

    /// <summary>Which session of that client (a new one after expiry), counting from 0.</summary>
    public required int SessionIndex { get; init; }

    /// <summary>The session id.</summary>
    public required long SessionId { get; init; }

    /// <summary>The member the client is pinned to, or 0 for a multi-host connect string.</summary>
    public required int PinnedMember { get; init; }

    public required JepsenOpType Type { get; init; }

    /// <summary>The register, or -1 for a sequential create.</summary>
    public required int Key { get; init; }

    /// <summary>Write/CAS: the value written; create: the data id stored in the node. Unique per op.</summary>
    public long WriteValue { get; init; }

    /// <summary>CAS: the version required.</summary>
    public int ExpectedVersion { get; init; } = -1;

    /// <summary>CAS done as multi(check, setData) rather than a conditional setData.</summary>
    public bool ViaMulti { get; init; }

    /// <summary>Final reads after the heal (not part of the workload).</summary>
    public bool IsFinal { get; init; }

    public required long InvokeTicks { get; init; }

    /// <summary>The session's last seen zxid when the op was invoked (0 for a new session).</summary>
    public required long SeenZxidBefore { get; init; }

    public long CompleteTicks { get; private set; }

    public OpOutcome Outcome { get; private set; } = OpOutcome.Info;

    public bool IsCompleted { get; private set; }

    /// <summary>The error (code name or exception type) for fail/info.</summary>
    public string? Error { get; private set; }

    /// <summary>Read: the data version seen; write/CAS: the new version.</summary>
    public int Version { get; private set; } = -1;

    /// <summary>Read: the value seen.</summary>
    public long ReadValue { get; private set; }

    /// <summary>Read and write: the mzxid of the Stat returned.</summary>
    public long Mzxid { get; private set; }

    /// <summary>The session's last zxid after the reply (the reply header's zxid).</summary>
    public long ReplyZxid { get; private set; }

    /// <summary>Create: the sequence number in the name.</summary>
    public long Sequence { get; private set; } = -1;

    /// <summary>Create: the czxid of the new node.</summary>
    public long Czxid { get; private set; }

    /// <summary>Read results.</summary>
    public void CompleteRead(long ticks, int version, long value, long mzxid, long replyZxid)
    {
        Version = version;
        ReadValue = value;
        Mzxid = mzxid;
        Complete(ticks, OpOutcome.Ok, null, replyZxid);
    }

    /// <summary>Write/CAS results.</summary>
    public void CompleteWrite(long ticks, int version, long mzxid, long replyZxid)
    {
        Version = version;
        Mzxid = mzxid;
        Complete(ticks, OpOutcome.Ok, null, replyZxid);
    }

    /// <summary>Create results.</summary>
    public void CompleteCreate(long ticks, long sequence, long czxid, long replyZxid)
    {
        Sequence = sequence;
        Czxid = czxid;
        Complete(ticks, OpOutcome.Ok, null, replyZxid);
    }

    /// <summary>A definite failure (the server answered with an error) or an indeterminate one.</summary>
    public void CompleteWithError(long ticks, OpOutcome outcome, string error, long replyZxid)
    {
        Debug.Assert(outcome != OpOutcome.Ok, "an error is fail or info");
        Complete(ticks, outcome, error, replyZxid);
    }

    private void Complete(long ticks, OpOutcome outcome, string? error, long replyZxid)
    {
        if (IsCompleted)
        {
            throw new InvalidOperationException($"op {Id} completed twice");
        }

        CompleteTicks = ticks;
        Outcome = outcome;
        Error = error;
        ReplyZxid = replyZxid;
        IsCompleted = true;
    }

    /// <summary>One line, e.g. <c>#12 c3/s0@m2 cas r5 v4 -> 812: ok v5 [10.2 ms .. 11.0 ms]</c>.</summary>
    public string Describe(long originTicks)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"#{Id} c{Client}/s{SessionIndex}@{(PinnedMember == 0 ? "any" : "m" + PinnedMember)} ");
        text.Append(Type switch
        {
            JepsenOpType.Read => $"read r{Key}",
            JepsenOpType.SyncRead => $"sync+read r{Key}",
            JepsenOpType.Write => $"write r{Key} := {WriteValue}",
            JepsenOpType.CompareAndSet => $"cas{(ViaMulti ? "(multi)" : "")} r{Key} if v{ExpectedVersion} := {WriteValue}",
            _ => $"create-seq data {WriteValue}",
        });
        text.Append(": ");
        if (!IsCompleted)
        {
            text.Append("never completed");
        }
        else if (Outcome != OpOutcome.Ok)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Outcome} ({Error})");
        }
        else
        {
            text.Append(Type switch
            {
                JepsenOpType.Read or JepsenOpType.SyncRead => $"ok v{Version} = {ReadValue} (mzxid 0x{Mzxid:x})",
                JepsenOpType.CreateSequential => $"ok seq {Sequence} (czxid 0x{Czxid:x})",
                _ => $"ok v{Version} (mzxid 0x{Mzxid:x})",
            });
        }

        text.Append(CultureInfo.InvariantCulture, $" zxid 0x{SeenZxidBefore:x}->0x{ReplyZxid:x} [{Ms(InvokeTicks - originTicks)} .. {(IsCompleted ? Ms(CompleteTicks - originTicks) : "?")}]");
        return text.ToString();
    }

    private static string Ms(long ticks) => (ticks * 1000.0 / Stopwatch.Frequency).ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}

/// <summary>The run's history: every op in invocation order, appended from many clients.</summary>
public sealed class History
{
    private readonly List<JepsenOp> _ops = [];
    private int _nextId;

    /// <summary>The time origin (ticks) for printing.</summary>
    public long OriginTicks { get; } = Stopwatch.GetTimestamp();

    /// <summary>Every op so far (a snapshot).</summary>
    public IReadOnlyList<JepsenOp> Ops
    {
        get
        {
            lock (_ops)
            {
                return [.. _ops];
            }
        }
    }

    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>Records an invocation now; <paramref name="build"/> fills in the op given its id and invocation time.</summary>
    public JepsenOp Invoke(Func<int, long, JepsenOp> build)
    {
        lock (_ops)
        {
            var op = build(_nextId++, Now);
            _ops.Add(op);
            return op;
        }
    }

    /// <summary>Adds ops recorded elsewhere (tests of the checkers).</summary>
    public void Add(JepsenOp op)
    {
        lock (_ops)
        {
            _ops.Add(op);
            _nextId = Math.Max(_nextId, op.Id + 1);
        }
    }

    /// <summary>Writes every op, one per line (for a failure's artefacts).</summary>
    public void WriteTo(TextWriter writer)
    {
        foreach (var op in Ops)
        {
            writer.WriteLine(op.Describe(OriginTicks));
        }
    }
}
