namespace Zooflow.Common;

/// <summary>
/// A small deterministic random source (SplitMix64, Steele, Lea and Flood, OOPSLA 2014): the same seed gives the same
/// sequence on every platform and run. Inject one, seeded from the options (or from the OS at start-up), wherever
/// behaviour must be replayable — never a shared or clock-seeded instance. Not thread-safe; not for cryptography.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
