using System.Diagnostics;
using System.Globalization;
using Zooflow.Consensus;

namespace Zooflow.Simulation;

/// <summary>
/// Seeded schedules of 3- and 5-server ensembles (and one with an observer) under loss, duplication, reordering,
/// partitions, crashes, restarts and writes lost before fsync; every run ends healed and must converge. CI runs a fixed
/// set of seeds; <c>ZOOFLOW_SIM_SEEDS=5000 dotnet test --project tests/Zooflow.Simulation</c> runs 5,000 per shape;
/// <c>ZOOFLOW_SIM_SEED=N ZOOFLOW_SIM_SHAPE=3+0</c> replays one seed with a trace.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    /// <summary>Seeds per shape in CI: 3,000 schedules in all, about 10 ms each in a Debug build (well under a minute).</summary>
    private const int CiSeedsPerShape = 1000;

    [Theory]
    [InlineData(3, 0, 100_000UL)]
    [InlineData(5, 0, 200_000UL)]
    [InlineData(3, 1, 300_000UL)]
    public void Ensemble_SeededFaultSchedules_KeepsEveryInvariant(int voters, int observers, ulong firstSeed)
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("ZOOFLOW_SIM_SEEDS"), CultureInfo.InvariantCulture, out int n) ? n : CiSeedsPerShape;
        var totals = new SimStats();
        int epochs = 0;
        var clock = Stopwatch.StartNew();
        for (ulong seed = firstSeed; seed < firstSeed + (ulong)count; seed++)
        {
            var sim = new Simulator(seed, voters, observers);
            SimStats stats = sim.Run(); // a failure throws with the seed, the config, the fault schedule and how to replay
            totals.Operations += stats.Operations;
            totals.Acknowledged += stats.Acknowledged;
            totals.Syncs += stats.Syncs;
            totals.Faults += stats.Faults;
            totals.Crashes += stats.Crashes;
            totals.Partitions += stats.Partitions;
            totals.SnapshotsSent += stats.SnapshotsSent;
            totals.MessagesSent += stats.MessagesSent;
            totals.MessagesDropped += stats.MessagesDropped;
            totals.MessagesDuplicated += stats.MessagesDuplicated;
            epochs += sim.Checkers.EpochLeaders.Count;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count} schedules of {voters} voters + {observers} observers in {clock.Elapsed.TotalSeconds:F1} s: {totals.Operations} client ops " +
            $"({totals.Acknowledged} acknowledged, {totals.Syncs} syncs), {totals.Faults} faults ({totals.Crashes} crashes, " +
            $"{totals.Partitions} partitions), {epochs} epochs, {totals.SnapshotsSent} snapshot syncs, {totals.MessagesSent} messages " +
            $"({totals.MessagesDropped} dropped, {totals.MessagesDuplicated} duplicated)"));
        Assert.True(totals.Acknowledged > count, "the workload must get writes acknowledged, or the checks prove little");
    }

    [Fact]
    public void Replay_SeedFromEnvironment_RunsWithTrace()
    {
        string? seedText = Environment.GetEnvironmentVariable("ZOOFLOW_SIM_SEED");
        if (seedText is null)
        {
            Assert.Skip("set ZOOFLOW_SIM_SEED (and ZOOFLOW_SIM_SHAPE=voters+observers, default 3+0) to replay one schedule");
        }

        string[] shape = (Environment.GetEnvironmentVariable("ZOOFLOW_SIM_SHAPE") ?? "3+0").Split('+');
        var sim = new Simulator(ulong.Parse(seedText, CultureInfo.InvariantCulture), int.Parse(shape[0], CultureInfo.InvariantCulture),
            int.Parse(shape[1], CultureInfo.InvariantCulture), trace: true);
        try
        {
            sim.Run();
        }
        finally
        {
            foreach (string line in sim.Trace)
            {
                output.WriteLine(line);
            }
        }

        output.WriteLine(sim.Summary());
    }

    [Fact]
    public void Run_SameSeed_ReplaysExactly()
    {
        var first = new Simulator(4242, 3, 1);
        var second = new Simulator(4242, 3, 1);
        first.Run();
        second.Run();

        Assert.Equal(first.Summary(), second.Summary());
        Assert.Equal(first.Checkers.Committed, second.Checkers.Committed);
        Assert.Equal(first.Stats.Events, second.Stats.Events);
    }
}

/// <summary>
/// The simulator must catch what it claims to: deliberately broken variants of the protocol (through
/// <see cref="ZabOptions.Faults"/>) and of the driver (<see cref="DriverFaults"/>) fail a checker within a bounded number
/// of seeds.
/// </summary>
public sealed class SimulatorSelfTests(ITestOutputHelper output)
{
    private const int SeedsMax = 300;

    public static TheoryData<string> Bugs() => ["quorum-too-small", "reused-epoch", "stale-leader", "send-before-persist"];

    [Theory]
    [MemberData(nameof(Bugs))]
    public void Simulator_BrokenVariant_IsCaughtByASafetyChecker(string bug)
    {
        (ZabFaults core, DriverFaults driver) = bug switch
        {
            "quorum-too-small" => (new ZabFaults { QuorumSizeReduction = 1 }, DriverFaults.None),
            "reused-epoch" => (new ZabFaults { ReuseEpoch = true }, DriverFaults.None),
            "stale-leader" => (new ZabFaults { ElectStaleLeader = true }, DriverFaults.None),
            _ => (ZabFaults.None, new DriverFaults { SendBeforePersist = true }),
        };

        for (ulong seed = 1; seed <= SeedsMax; seed++)
        {
            try
            {
                new Simulator(seed, 3, 0, core, driver).Run();
            }
            catch (SimulationFailure failure)
            {
                output.WriteLine($"{bug}: caught by seed {seed}: {failure.Message.Split('\n')[0]}");
                Assert.NotEqual("liveness", failure.Checker);
                Assert.NotEqual("exception", failure.Checker);
                return;
            }
        }

        Assert.Fail($"{bug} survived {SeedsMax} seeds: the checkers cannot see it");
    }
}
