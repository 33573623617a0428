using Zooflow.Common;

namespace Zooflow.Simulation;

/// <summary>The simulator's only source of randomness: everything a run does follows from its seed.</summary>
public sealed class SimRandom(ulong seed)
{
    private readonly SplitMix64 _bits = new(seed);

    public ulong NextULong() => _bits.Next();

    /// <summary>Uniform in [0, <paramref name="max"/>).</summary>
    public int Next(int max) => max <= 1 ? 0 : (int)(NextULong() % (ulong)max);

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Between(int min, int max) => min + Next(max - min + 1);

    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double probability) => probability > 0 && NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>An independent stream (so adding draws to one part of the simulator does not shift the others).</summary>
    public SimRandom Fork() => new(NextULong());
}
