namespace Zooflow.Consensus;

/// <summary>A tiny deterministic random source (SplitMix64, Steele et al. 2014), seeded from <see cref="ZabOptions.RandomSeed"/>.
/// Used only for link ids; never shared, never seeded from the clock.</summary>
internal sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
