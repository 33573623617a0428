using System.Globalization;
using Xunit;
using Zooflow.Jepsen.Tests.Harness;
using Zooflow.TestKit.Servers;

namespace Zooflow.Jepsen.Tests;

/// <summary>
/// The Jepsen-style fault test of a replicated ensemble (issue 5): 3 and 5 real server processes on loopback, clients
/// doing reads, sync+reads, writes, compare-and-sets and sequential creates through different members, a nemesis that
/// kills the leader (SIGKILL), pauses members (SIGSTOP/SIGCONT) and cuts quorum links (fault proxies), and checkers for
/// linearizability (WGL, per register), read consistency, session guarantees, sequential creates and durability.
/// </summary>
/// <remarks>
/// <para>Apache ZooKeeper 3.8 runs first and must pass: it validates the harness and the checkers. Zooflow runs the same
/// test on <c>zooflow server</c> ensembles and must pass with its <c>sync</c>+reads asserted too (it would skip, naming
/// why, only if the server refused or ignored the <c>server.N</c> lines).</para>
/// <para>Each run lasts <c>ZOOFLOW_JEPSEN_SECONDS</c> (default 25) of faults plus start-up, heal and checks (about 40 s
/// in all on a quiet machine); <c>ZOOFLOW_JEPSEN_SEED</c> fixes the seed (default: a fresh one, printed). A failure
/// prints the seed, the command that reruns it, the violations with the ops involved, the nemesis log, and keeps the
/// history and every member's log on disk.</para>
/// <para>A ZooKeeper run that fails only because of ZooKeeper 3.8.0's own data-loss bug (every member the durability
/// check names shows it in its files, <see cref="ZooKeeperKnownBugs"/>) skips with that evidence instead of failing.</para>
/// </remarks>
public sealed class EnsembleFaultTests(ITestOutputHelper output)
{
    private static TimeSpan Duration =>
        Environment.GetEnvironmentVariable("ZOOFLOW_JEPSEN_SECONDS") is { Length: > 0 } text
            ? TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture))
            : TimeSpan.FromSeconds(25);

    private static int Seed =>
        Environment.GetEnvironmentVariable("ZOOFLOW_JEPSEN_SEED") is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : Random.Shared.Next(1, int.MaxValue);

    [Fact]
    public Task ZooKeeper3_FaultsDuringConcurrentOps_LinearizableAndNothingLost() => RunAsync(ServerKind.ZooKeeper, 3);

    [Fact]
    public Task ZooKeeper5_FaultsDuringConcurrentOps_LinearizableAndNothingLost() => RunAsync(ServerKind.ZooKeeper, 5);

    [Fact]
    public Task Zooflow3_FaultsDuringConcurrentOps_LinearizableAndNothingLost() => RunAsync(ServerKind.Zooflow, 3);

    [Fact]
    public Task Zooflow5_FaultsDuringConcurrentOps_LinearizableAndNothingLost() => RunAsync(ServerKind.Zooflow, 5);

    /// <summary>
    /// The harness must notice lost data: after a short fault-free workload every member is killed, two of the three
    /// lose their data directories (a majority: no ensemble survives that), they restart first and form a quorum with an
    /// empty tree, and the third joins them and is truncated. The durability, linearizability and sequential-create
    /// checkers must each report it.
    /// </summary>
    [Fact]
    public async Task SelfTest_ZooKeeperMajorityLosesItsData_CheckersReportTheLoss()
    {
        var options = new JepsenOptions
        {
            Kind = ServerKind.ZooKeeper,
            Members = 3,
            Seed = Seed,
            Duration = TimeSpan.FromSeconds(3),
            Clients = 4,
            InjectFaults = false,
            RecoveryTimeout = TimeSpan.FromSeconds(30),
            KeepFilesOnFailure = false,
            DiagnoseReferenceBugs = false,
            AfterWorkloadAsync = async (ensemble, ct) =>
            {
                foreach (var id in ensemble.MemberIds)
                {
                    ensemble.Kill(id);
                }

                ensemble.WipeData(1);
                ensemble.WipeData(2);
                await ensemble.RestartAsync(1, ct);
                await ensemble.RestartAsync(2, ct);
                await ensemble.WaitServingAsync(2, TimeSpan.FromSeconds(60), ct);
                await ensemble.RestartAsync(3, ct);
            },
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));

        var report = await JepsenRun.RunAsync(options, output.WriteLine, timeout.Token);
        output.WriteLine(report.Summary);
        output.WriteLine(report.Details);

        Assert.False(report.Passed);
        Assert.Contains(report.Checks.Single(c => c.Name == "durability").Violations,
            v => v.StartsWith("lost acknowledged write", StringComparison.Ordinal));
        Assert.Contains(report.Checks.Single(c => c.Name == "linearizability of writes").Violations,
            v => v.Contains("is not linearizable", StringComparison.Ordinal));
        Assert.Contains(report.Checks.Single(c => c.Name == "sequential creates").Violations,
            v => v.StartsWith("lost acknowledged create", StringComparison.Ordinal));
    }

    private async Task RunAsync(ServerKind kind, int members)
    {
        var options = new JepsenOptions
        {
            Kind = kind,
            Members = members,
            Seed = Seed,
            Duration = Duration,
            Clients = members == 3 ? 8 : 10,
        };
        output.WriteLine($"seed {options.Seed} (rerun: {options.RerunCommand})");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(options.Duration + TimeSpan.FromMinutes(6));
        JepsenReport report;
        try
        {
            report = await JepsenRun.RunAsync(options, output.WriteLine, timeout.Token);
        }
        catch (EnsembleNotSupportedException e)
        {
            Assert.Skip("awaiting Zooflow's ensemble mode (issue 5, branch ensemble), not in this build: " + e.Message);
            return;
        }

        output.WriteLine(report.Summary);
        output.WriteLine(report.NemesisLog);
        if (!report.Passed && report.KnownReferenceBug is { } knownBug)
        {
            output.WriteLine(report.Details);
            Assert.Skip(knownBug);
        }

        Assert.True(report.Passed, report.Summary + "\n" + report.Details);
    }
}
