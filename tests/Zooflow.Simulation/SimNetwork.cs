using Zooflow.Consensus.Messages;

namespace Zooflow.Simulation;

/// <summary>
/// The simulated network between servers: every message is delayed by a random number of time units (so messages
/// overtake each other), may be dropped or duplicated, and never crosses a partition. Rates come from the run's
/// configuration and go to zero when the simulator heals the cluster.
/// </summary>
public sealed class SimNetwork(Simulator sim, SimRandom random)
{
    private readonly HashSet<(long, long)> _cut = [];

    public double DropRate { get; set; }

    public double DuplicateRate { get; set; }

    public double ReorderRate { get; set; }

    public int ReorderDelayMax { get; set; } = 1;

    public bool IsPartitioned => _cut.Count > 0;

    public void Send(ZabMessage message)
    {
        sim.Stats.MessagesSent++;
        if (_cut.Contains((message.From, message.To)) || random.Chance(DropRate))
        {
            sim.Stats.MessagesDropped++;
            return;
        }

        sim.Schedule(Delay(), new Simulator.Delivery(message));
        if (random.Chance(DuplicateRate))
        {
            sim.Stats.MessagesDuplicated++;
            sim.Schedule(Delay(), new Simulator.Delivery(message));
        }
    }

    /// <summary>True when <paramref name="message"/> may be delivered now (partitions also stop messages in flight).</summary>
    public bool CanDeliver(ZabMessage message) => !_cut.Contains((message.From, message.To));

    private long Delay()
    {
        long delay = 1 + random.Next(3);
        if (random.Chance(ReorderRate))
        {
            delay += random.Next(ReorderDelayMax + 1);
        }

        return delay;
    }

    /// <summary>Cuts every link between <paramref name="side"/> and the other servers.</summary>
    public void Partition(IReadOnlyCollection<long> side, IEnumerable<long> all)
    {
        _cut.Clear();
        foreach (long a in side)
        {
            foreach (long b in all)
            {
                if (!side.Contains(b))
                {
                    _cut.Add((a, b));
                    _cut.Add((b, a));
                }
            }
        }
    }

    public void Heal() => _cut.Clear();

    public void Clean()
    {
        Heal();
        DropRate = 0;
        DuplicateRate = 0;
        ReorderRate = 0;
    }
}
