using System.Globalization;
using System.Text;

namespace Zooflow.TestKit.Linearizability;

/// <summary>
/// Decides whether a concurrent history is linearizable with respect to a sequential model: the algorithm of Wing and
/// Gong (1993) with Lowe's memoization (Lowe, "Testing for linearizability", 2017), as in Porcupine and Knossos' "wgl"
/// checker.
/// </summary>
/// <remarks>
/// <para><b>Search.</b> Invocations and completions are events on one timeline, kept in a doubly linked list. The search
/// walks the list from the front: at an invocation it tries to linearize that op next (the model must accept it in the
/// current state); if it can, the op's two events are unlinked (dancing links) and the walk restarts from the front; at
/// the first completion it meets, that op should already have been linearized, so it backtracks (relinks the last
/// linearized op and tries the next candidate after it). A configuration (set of linearized ops, model state) seen
/// before is never explored again: Lowe's memoization, which makes the common cases polynomial.</para>
/// <para><b>Indeterminate ops</b> (<see cref="HistoryOperation{TOp}.CompleteTicks"/> null) complete at +∞: they may be
/// linearized anywhere after their invocation, and the search succeeds once every determinate op is linearized, which
/// leaves the rest as "never took effect" (or took effect after everything observed). Ties: an invocation at the same
/// tick as a completion counts as concurrent with it (the permissive reading).</para>
/// <para><b>Budget.</b> The search is exponential in the worst case (many concurrent indeterminate ops), so it stops
/// with <see cref="LinearizabilityVerdict.Unknown"/> after <see cref="LinearizabilityBudget.MaxSteps"/> model calls or
/// <see cref="LinearizabilityBudget.MaxCachedConfigurations"/> memoized configurations. Check independent objects
/// (e.g. one register each) separately: linearizability is compositional (Herlihy and Wing's locality), and small
/// histories stay cheap.</para>
/// </remarks>
public static class LinearizabilityChecker
{
    private const int End = -1;

    /// <summary>Checks <paramref name="history"/> against <paramref name="model"/>.</summary>
    /// <param name="model">The sequential specification.</param>
    /// <param name="history">The operations (any order).</param>
    /// <param name="budget">Search bounds; null for <see cref="LinearizabilityBudget.Default"/>.</param>
    /// <param name="describe">Renders an op in explanations (null: <c>ToString()</c>).</param>
    /// <exception cref="ArgumentException">An op completes before it is invoked, or ids repeat.</exception>
    public static LinearizabilityResult Check<TState, TOp>(
        ISequentialModel<TState, TOp> model,
        IReadOnlyList<HistoryOperation<TOp>> history,
        LinearizabilityBudget? budget = null,
        Func<HistoryOperation<TOp>, string>? describe = null)
        where TState : IEquatable<TState>
    {
        budget ??= LinearizabilityBudget.Default;
        describe ??= static op => op.ToString();
        var n = history.Count;
        if (n == 0)
        {
            return new LinearizabilityResult(LinearizabilityVerdict.Linearizable, 0, 0, "");
        }

        var timeline = new Timeline<TOp>(history);
        var linearized = new Bitset(n);
        var cache = new HashSet<Configuration<TState>>(Configuration<TState>.Comparer);
        var probe = new Configuration<TState>(linearized.Words, default!);
        var stack = new (int Op, TState Before)[n];
        var depth = 0;
        var state = model.Initial;
        var remaining = timeline.DeterminateCount;
        var best = new BestAttempt<TState>(model.Initial);
        long steps = 0;
        var cursor = timeline.First;
        while (remaining > 0)
        {
            if (cursor != End && timeline.IsCall(cursor))
            {
                if (++steps > budget.MaxSteps)
                {
                    return Unknown(n, steps, $"step budget of {budget.MaxSteps:N0} exhausted (deepest linearized prefix {best.Prefix.Length} of {n} ops)");
                }

                var op = timeline.OpAt(cursor);
                if (model.TryStep(state, history[op].Op, out var next))
                {
                    linearized.Set(op);
                    probe.Reset(linearized.Words, next);
                    if (!cache.Contains(probe))
                    {
                        if (cache.Count >= budget.MaxCachedConfigurations)
                        {
                            return Unknown(n, steps,
                                $"memo budget of {budget.MaxCachedConfigurations:N0} configurations exhausted (deepest linearized prefix {best.Prefix.Length} of {n} ops)");
                        }

                        cache.Add(new Configuration<TState>(linearized.CopyWords(), next));
                        stack[depth++] = (op, state);
                        state = next;
                        timeline.Lift(op);
                        if (!history[op].IsIndeterminate)
                        {
                            remaining--;
                        }

                        best.Offer(stack, depth, state);
                        cursor = timeline.First;
                        continue;
                    }

                    linearized.Clear(op);
                }

                cursor = timeline.Next(cursor);
            }
            else
            {
                // The first completion in the list belongs to an op not yet linearized: undo the last choice.
                if (depth == 0)
                {
                    return new LinearizabilityResult(LinearizabilityVerdict.NotLinearizable, n, steps,
                        Explain(history, best, describe));
                }

                var (op, before) = stack[--depth];
                state = before;
                linearized.Clear(op);
                timeline.Unlift(op);
                if (!history[op].IsIndeterminate)
                {
                    remaining++;
                }

                cursor = timeline.Next(timeline.CallPosition(op));
            }
        }

        return new LinearizabilityResult(LinearizabilityVerdict.Linearizable, n, steps, "");
    }

    private static LinearizabilityResult Unknown(int n, long steps, string why) =>
        new(LinearizabilityVerdict.Unknown, n, steps, "unknown — too large: " + why);

    private static string Explain<TState, TOp>(IReadOnlyList<HistoryOperation<TOp>> history, BestAttempt<TState> best,
        Func<HistoryOperation<TOp>, string> describe)
    {
        // Replay the deepest prefix on a fresh timeline and list what could have come next.
        var timeline = new Timeline<TOp>(history);
        foreach (var op in best.Prefix)
        {
            timeline.Lift(op);
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"no linearization of {history.Count} ops; the longest linearizable prefix has {best.Prefix.Length} ops");
        var shown = best.Prefix.Length <= 12 ? best.Prefix : best.Prefix[^12..];
        if (shown.Length > 0)
        {
            text.Append(shown.Length < best.Prefix.Length ? ", ending with:\n" : ":\n");
            foreach (var op in shown)
            {
                text.Append("    ").Append(describe(history[op])).Append('\n');
            }
        }
        else
        {
            text.Append(".\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"  state after it: {best.State}\n");
        text.Append("  none of these could be linearized next (each is impossible in that state, or leads only to dead ends):\n");
        for (var cursor = timeline.First; cursor != End; cursor = timeline.Next(cursor))
        {
            var op = timeline.OpAt(cursor);
            if (!timeline.IsCall(cursor))
            {
                text.Append("  and this op had completed before anything later was invoked, so it must come first among them:\n    ")
                    .Append(describe(history[op])).Append('\n');
                break;
            }

            text.Append("    ").Append(describe(history[op])).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The invocation/completion events in time order as a doubly linked list that supports unlinking an op's two
    /// events and relinking them in reverse order (dancing links).</summary>
    private sealed class Timeline<TOp>
    {
        private readonly int[] _next;
        private readonly int[] _prev;
        private readonly int[] _opAt;
        private readonly bool[] _isCall;
        private readonly int[] _callAt;
        private readonly int[] _returnAt;
        private readonly int _head;

        public Timeline(IReadOnlyList<HistoryOperation<TOp>> history)
        {
            var n = history.Count;
            var events = new (long Time, bool IsCall, int Op)[2 * n];
            var ids = new HashSet<int>();
            for (var i = 0; i < n; i++)
            {
                var h = history[i];
                if (h.CompleteTicks is { } complete && complete < h.InvokeTicks)
                {
                    throw new ArgumentException($"op {h.Id} completes ({complete}) before it is invoked ({h.InvokeTicks})", nameof(history));
                }

                if (!ids.Add(h.Id))
                {
                    throw new ArgumentException($"op id {h.Id} appears twice", nameof(history));
                }

                events[2 * i] = (h.InvokeTicks, true, i);
                events[(2 * i) + 1] = (h.CompleteTicks ?? long.MaxValue, false, i);
                if (!h.IsIndeterminate)
                {
                    DeterminateCount++;
                }
            }

            // Calls before returns at equal times (concurrent), then by op for determinism.
            Array.Sort(events, static (a, b) =>
            {
                var c = a.Time.CompareTo(b.Time);
                if (c != 0)
                {
                    return c;
                }

                c = b.IsCall.CompareTo(a.IsCall);
                return c != 0 ? c : a.Op.CompareTo(b.Op);
            });

            var count = events.Length;
            _head = count;
            _next = new int[count + 1];
            _prev = new int[count + 1];
            _opAt = new int[count];
            _isCall = new bool[count];
            _callAt = new int[n];
            _returnAt = new int[n];
            for (var k = 0; k < count; k++)
            {
                _opAt[k] = events[k].Op;
                _isCall[k] = events[k].IsCall;
                if (events[k].IsCall)
                {
                    _callAt[events[k].Op] = k;
                }
                else
                {
                    _returnAt[events[k].Op] = k;
                }

                _next[k] = k + 1 < count ? k + 1 : End;
                _prev[k] = k == 0 ? _head : k - 1;
            }

            _next[_head] = 0;
        }

        public int DeterminateCount { get; }

        public int First => _next[_head];

        public int Next(int position) => _next[position];

        public bool IsCall(int position) => _isCall[position];

        public int OpAt(int position) => _opAt[position];

        public int CallPosition(int op) => _callAt[op];

        public void Lift(int op)
        {
            Unlink(_callAt[op]);
            Unlink(_returnAt[op]);
        }

        public void Unlift(int op)
        {
            Relink(_returnAt[op]);
            Relink(_callAt[op]);
        }

        private void Unlink(int k)
        {
            _next[_prev[k]] = _next[k];
            if (_next[k] != End)
            {
                _prev[_next[k]] = _prev[k];
            }
        }

        private void Relink(int k)
        {
            _next[_prev[k]] = k;
            if (_next[k] != End)
            {
                _prev[_next[k]] = k;
            }
        }
    }

    private sealed class Bitset(int bits)
    {
        public ulong[] Words { get; } = new ulong[(bits + 63) / 64];

        public void Set(int bit) => Words[bit >> 6] |= 1UL << (bit & 63);

        public void Clear(int bit) => Words[bit >> 6] &= ~(1UL << (bit & 63));

        public ulong[] CopyWords() => (ulong[])Words.Clone();
    }

    /// <summary>A memoized (linearized set, state) pair. The probe instance points at the live bitset for lookups.</summary>
    private sealed class Configuration<TState>(ulong[] words, TState state)
        where TState : IEquatable<TState>
    {
        public static readonly IEqualityComparer<Configuration<TState>> Comparer = new EqualityComparer();

        private ulong[] _words = words;
        private TState _state = state;
        private int _hash = ComputeHash(words, state);

        public void Reset(ulong[] words, TState state)
        {
            _words = words;
            _state = state;
            _hash = ComputeHash(words, state);
        }

        private static int ComputeHash(ulong[] words, TState state)
        {
            var hash = new HashCode();
            foreach (var w in words)
            {
                hash.Add(w);
            }

            hash.Add(state);
            return hash.ToHashCode();
        }

        private sealed class EqualityComparer : IEqualityComparer<Configuration<TState>>
        {
            public bool Equals(Configuration<TState>? x, Configuration<TState>? y) =>
                ReferenceEquals(x, y)
                || (x is not null && y is not null && x._hash == y._hash && x._state.Equals(y._state) && x._words.AsSpan().SequenceEqual(y._words));

            public int GetHashCode(Configuration<TState> obj) => obj._hash;
        }
    }

    /// <summary>The deepest linearized prefix seen, for the explanation of a violation.</summary>
    private sealed class BestAttempt<TState>(TState initial)
    {
        public int[] Prefix { get; private set; } = [];

        public TState State { get; private set; } = initial;

        public void Offer<T>((int Op, T Before)[] stack, int depth, TState state)
        {
            if (depth <= Prefix.Length)
            {
                return;
            }

            var prefix = new int[depth];
            for (var i = 0; i < depth; i++)
            {
                prefix[i] = stack[i].Op;
            }

            Prefix = prefix;
            State = state;
        }
    }
}
