using System.Diagnostics;
using System.Globalization;
using Zooflow.TestKit.Servers;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// Injects one fault at a time on a seeded schedule, each bounded in time and undone before the next, then waits for a
/// quorum to serve again before the next quiet period.
/// </summary>
/// <remarks>
/// <para>Faults (weights in brackets), chosen and sized from the seed:</para>
/// <list type="bullet">
/// <item>[20] kill the leader with SIGKILL, keep it down 1-3 s, restart it on the same data directory;</item>
/// <item>[10] the same for a random follower;</item>
/// <item>[25] pause a member with SIGSTOP (the leader half the time) for 0.3-3 × syncLimit — so sometimes past the
/// point where it is dropped from the quorum — then SIGCONT;</item>
/// <item>[45] cut quorum and election links for 1-4 s, as refused connections or a blackhole (half each): isolate the
/// leader; split into a random majority and minority; or a bridge, where two groups cannot see each other but one member
/// sees both (non-transitive; with 3 members, one cut pair).</item>
/// </list>
/// <para>The schedule (kinds, targets, durations, quiet gaps of 0.3-1.5 s) follows from the seed; when the faults land
/// relative to client ops does not (real processes), so a seed reruns the same schedule, not the same interleaving.</para>
/// </remarks>
public sealed class Nemesis(IEnsemble ensemble, TimeSpan syncLimit, Random random, History history)
{
    private readonly List<string> _log = [];
    private readonly Dictionary<string, int> _counts = [];
    private readonly HashSet<long> _epochs = [];
    private readonly List<int> _leaders = [];

    /// <summary>Faults injected, by kind.</summary>
    public IReadOnlyDictionary<string, int> Counts => _counts;

    /// <summary>Epochs (zxid >> 32) the nemesis saw members report.</summary>
    public IReadOnlyCollection<long> Epochs => _epochs;

    /// <summary>Changes of the leader's id between consecutive lookups.</summary>
    public int LeaderIdChanges { get; private set; }

    /// <summary>Pauses longer than syncLimit (the member must be dropped and rejoin).</summary>
    public int LongPauses { get; private set; }

    /// <summary>Times the ensemble did not serve again within the recovery timeout after a fault.</summary>
    public List<string> RecoveryFailures { get; } = [];

    /// <summary>What happened when, one line per event (for failure reports).</summary>
    public IReadOnlyList<string> Log => _log;

    private int SyncLimitMs => (int)syncLimit.TotalMilliseconds;

    private int Majority => (ensemble.Size / 2) + 1;

    public async Task RunAsync(TimeSpan duration, TimeSpan recoveryTimeout, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            await Task.Delay(random.Next(300, 1500), cancellationToken);
            if (Stopwatch.GetTimestamp() >= end)
            {
                break;
            }

            var leader = await ObserveAsync(cancellationToken);
            var roll = random.Next(100);
            if (roll < 20)
            {
                await KillAsync(leader ?? RandomMember(), "kill-leader", cancellationToken);
            }
            else if (roll < 30)
            {
                await KillAsync(RandomMember(except: leader), "kill-follower", cancellationToken);
            }
            else if (roll < 55)
            {
                await PauseAsync(random.Next(2) == 0 && leader is { } l ? l : RandomMember(), leader, cancellationToken);
            }
            else
            {
                await PartitionAsync(leader, cancellationToken);
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                await ensemble.WaitServingAsync(Majority, recoveryTimeout, cancellationToken);
                Note($"quorum serving again after {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");
            }
            catch (TimeoutException e)
            {
                RecoveryFailures.Add(e.Message);
                Note("NOT RECOVERED: " + e.Message);
            }
        }

        await ObserveAsync(cancellationToken);
    }

    /// <summary>Undoes anything still in force (resume, heal, restart), e.g. after the run was cancelled mid-fault.</summary>
    public async Task HealAllAsync(CancellationToken cancellationToken)
    {
        ensemble.HealLinks();
        foreach (var id in ensemble.MemberIds)
        {
            if (ensemble.IsPaused(id))
            {
                ensemble.Resume(id);
            }

            if (!ensemble.IsRunning(id))
            {
                await ensemble.RestartAsync(id, cancellationToken);
            }
        }
    }

    /// <summary>Looks at every member: records epochs and the leader; returns the leader's id if there is exactly one.</summary>
    public async Task<int?> ObserveAsync(CancellationToken cancellationToken)
    {
        var statuses = await ensemble.StatusAllAsync(cancellationToken);
        foreach (var status in statuses)
        {
            if (status is { IsServing: true, Zxid: { } zxid })
            {
                _epochs.Add(zxid >> 32);
            }
        }

        var leaders = statuses.Where(s => s.Mode == MemberMode.Leader).Select(s => s.Id).ToList();
        if (leaders.Count != 1)
        {
            return null;
        }

        if (_leaders.Count > 0 && _leaders[^1] != leaders[0])
        {
            LeaderIdChanges++;
        }

        _leaders.Add(leaders[0]);
        return leaders[0];
    }

    private async Task KillAsync(int target, string kind, CancellationToken cancellationToken)
    {
        var down = random.Next(1000, 3000);
        Count(kind);
        Note($"{kind}: SIGKILL member {target} for {down} ms");
        ensemble.Kill(target);
        await Task.Delay(down, cancellationToken);
        await ensemble.RestartAsync(target, cancellationToken);
        Note($"restarted member {target}");
    }

    private async Task PauseAsync(int target, int? leader, CancellationToken cancellationToken)
    {
        var pause = (int)(SyncLimitMs * (0.3 + (random.NextDouble() * 2.7)));
        Count(pause > SyncLimitMs ? "pause>syncLimit" : "pause");
        if (pause > SyncLimitMs)
        {
            LongPauses++;
        }

        Note($"pause: SIGSTOP {(target == leader ? "leader" : "member")} {target} for {pause} ms (syncLimit {SyncLimitMs} ms)");
        ensemble.Pause(target);
        try
        {
            await Task.Delay(pause, cancellationToken);
        }
        finally
        {
            ensemble.Resume(target);
            Note($"SIGCONT member {target}");
        }
    }

    private async Task PartitionAsync(int? leader, CancellationToken cancellationToken)
    {
        var fault = random.Next(2) == 0 ? LinkFault.Refuse : LinkFault.Blackhole;
        var hold = random.Next(1000, 4000);
        var members = ensemble.MemberIds.ToList();
        var shape = random.Next(3);
        string description;
        if (shape == 0)
        {
            var isolated = leader ?? RandomMember();
            ensemble.Partition([[isolated], [.. members.Where(m => m != isolated)]], fault);
            description = $"isolate {(leader is null ? "member" : "leader")} {isolated}";
        }
        else if (shape == 1)
        {
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(members));
            var minority = members.Take(ensemble.Size / 2).ToList();
            var majority = members.Skip(ensemble.Size / 2).ToList();
            ensemble.Partition([minority, majority], fault);
            description = $"split [{string.Join(',', minority)}] | [{string.Join(',', majority)}]";
        }
        else
        {
            random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(members));
            var bridge = members[0];
            var rest = members.Skip(1).ToList();
            var left = rest.Take(rest.Count / 2).ToList();
            var right = rest.Skip(rest.Count / 2).ToList();
            ensemble.Partition([left, right], fault);
            description = $"bridge [{string.Join(',', left)}] <-{bridge}-> [{string.Join(',', right)}]";
        }

        Count($"partition-{fault.ToString().ToLowerInvariant()}");
        Note($"partition ({fault}): {description} for {hold} ms");
        try
        {
            await Task.Delay(hold, cancellationToken);
        }
        finally
        {
            ensemble.HealLinks();
            Note("healed links");
        }
    }

    private int RandomMember(int? except = null)
    {
        var candidates = ensemble.MemberIds.Where(m => m != except).ToList();
        return candidates[random.Next(candidates.Count)];
    }

    private void Count(string kind) => _counts[kind] = _counts.GetValueOrDefault(kind) + 1;

    private void Note(string text)
    {
        var ms = Stopwatch.GetElapsedTime(history.OriginTicks).TotalMilliseconds;
        _log.Add(string.Create(CultureInfo.InvariantCulture, $"[{ms,9:0.0} ms] {text}"));
    }
}
