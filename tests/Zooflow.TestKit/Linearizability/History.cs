namespace Zooflow.TestKit.Linearizability;

/// <summary>
/// A sequential specification: the state machine a history must be explainable by.
/// </summary>
/// <typeparam name="TState">The model's state; compared by value (the checker memoizes on it).</typeparam>
/// <typeparam name="TOp">An operation with its input and observed output.</typeparam>
public interface ISequentialModel<TState, TOp>
    where TState : IEquatable<TState>
{
    /// <summary>The state before any operation.</summary>
    TState Initial { get; }

    /// <summary>
    /// Applies <paramref name="op"/> to <paramref name="state"/>: false when the op's observed output is impossible
    /// in that state; otherwise <paramref name="next"/> is the state after it. An indeterminate op (no observed output)
    /// must be accepted in every state (it may have done nothing, or what it would do there).
    /// </summary>
    bool TryStep(TState state, TOp op, out TState next);
}

/// <summary>
/// One operation of a concurrent history: when it was invoked, when its result came back (null: never, or unknown —
/// an indeterminate op that may take effect at any point after its invocation, or not at all), and the op itself.
/// Times are monotonic ticks of one clock (e.g. <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).
/// </summary>
/// <param name="Id">Unique within the history (used in reports).</param>
/// <param name="InvokeTicks">When the client invoked it.</param>
/// <param name="CompleteTicks">When the client saw its result; null for an indeterminate op.</param>
/// <param name="Op">Input and observed output.</param>
public sealed record HistoryOperation<TOp>(int Id, long InvokeTicks, long? CompleteTicks, TOp Op)
{
    /// <summary>True when the outcome is unknown (no completion).</summary>
    public bool IsIndeterminate => CompleteTicks is null;
}

/// <summary>The checker's verdict.</summary>
public enum LinearizabilityVerdict
{
    /// <summary>A linearization exists.</summary>
    Linearizable,

    /// <summary>The whole search space was explored without finding one: a violation.</summary>
    NotLinearizable,

    /// <summary>The search hit its budget before deciding.</summary>
    Unknown,
}

/// <summary>
/// The checker's answer.
/// </summary>
/// <param name="Verdict">Linearizable, not, or unknown (budget exhausted).</param>
/// <param name="OperationCount">Operations checked.</param>
/// <param name="StatesExplored">Search steps taken (successful step attempts).</param>
/// <param name="Explanation">For a violation: the longest prefix that could be linearized, the state after it, and the
/// operations none of which could come next; for unknown: which budget ran out. Empty when linearizable.</param>
public sealed record LinearizabilityResult(LinearizabilityVerdict Verdict, int OperationCount, long StatesExplored, string Explanation)
{
    public bool IsLinearizable => Verdict == LinearizabilityVerdict.Linearizable;
}

/// <summary>Bounds on the search, so that a pathological history answers "unknown" instead of running for hours.</summary>
/// <param name="MaxSteps">Step attempts (model calls) at most.</param>
/// <param name="MaxCachedConfigurations">Memoized (linearized set, state) pairs at most (each costs about
/// <c>n/8 + 64</c> bytes for n operations).</param>
public sealed record LinearizabilityBudget(long MaxSteps, int MaxCachedConfigurations)
{
    /// <summary>20 million steps, 2 million configurations: a few seconds and a few hundred MB at worst.</summary>
    public static readonly LinearizabilityBudget Default = new(20_000_000, 2_000_000);
}
