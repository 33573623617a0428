using System.Globalization;

namespace Zooflow.Consensus;

/// <summary>
/// ZooKeeper transaction ids: <c>zxid = (epoch &lt;&lt; 32) | counter</c>. The epoch names the leader that proposed the
/// record (one leader per epoch), the counter orders its proposals; so comparing zxids as signed 64-bit integers orders
/// records first by epoch, then by proposal order (ZooKeeper's <c>ZxidUtils</c>).
/// </summary>
public static class Zxid
{
    /// <summary>The largest counter an epoch can use. ZooKeeper forces a new election before the counter wraps
    /// (<c>Leader.propose</c>: "zxid lower 32 bits have rolled over"); so does <see cref="ZabNode.Propose"/>.</summary>
    public const long CounterMax = 0xFFFF_FFFFL;

    /// <summary>The zxid of counter <paramref name="counter"/> in <paramref name="epoch"/>.</summary>
    public static long Make(long epoch, long counter) => (epoch << 32) | (counter & CounterMax);

    /// <summary>The epoch half of <paramref name="zxid"/>.</summary>
    public static long EpochOf(long zxid) => zxid >>> 32;

    /// <summary>The counter half of <paramref name="zxid"/>.</summary>
    public static long CounterOf(long zxid) => zxid & CounterMax;

    /// <summary>"0x" and lowercase hex, as ZooKeeper logs and names files.</summary>
    public static string ToHex(long zxid) => "0x" + zxid.ToString("x", CultureInfo.InvariantCulture);
}
