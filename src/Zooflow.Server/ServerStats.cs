namespace Zooflow.Server;

/// <summary>
/// Counters shown by <c>srvr</c>, <c>stat</c> and <c>mntr</c> (ZooKeeper's <c>ServerStats</c>). Packets received are
/// counted by connection readers, everything else by the state machine loop; all fields use interlocked access so the
/// four-letter words can read them from any thread.
/// </summary>
internal sealed class ServerStats
{
    private long _packetsReceived;
    private long _packetsSent;
    private long _latencyTotalMs;
    private long _latencyCount;
    private long _latencyMinMs = long.MaxValue;
    private long _latencyMaxMs;
    private long _outstanding;
    private int _aliveConnections;

    public long PacketsReceived => Interlocked.Read(ref _packetsReceived);
    public long PacketsSent => Interlocked.Read(ref _packetsSent);
    public long MinLatencyMs => Interlocked.Read(ref _latencyMinMs) == long.MaxValue ? 0 : Interlocked.Read(ref _latencyMinMs);
    public long MaxLatencyMs => Interlocked.Read(ref _latencyMaxMs);
    public double AvgLatencyMs => Interlocked.Read(ref _latencyCount) == 0 ? 0 : (double)Interlocked.Read(ref _latencyTotalMs) / Interlocked.Read(ref _latencyCount);
    public long OutstandingRequests => Interlocked.Read(ref _outstanding);
    public int AliveConnections => Volatile.Read(ref _aliveConnections);

    public void Received() => Interlocked.Increment(ref _packetsReceived);
    public void Sent() => Interlocked.Increment(ref _packetsSent);
    public void Queued() => Interlocked.Increment(ref _outstanding);
    public void Dequeued() => Interlocked.Decrement(ref _outstanding);
    public void ConnectionOpened() => Interlocked.Increment(ref _aliveConnections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _aliveConnections);

    public void Latency(long ms)
    {
        if (ms < 0)
        {
            return;
        }

        Interlocked.Add(ref _latencyTotalMs, ms);
        Interlocked.Increment(ref _latencyCount);
        long seen;
        while (ms < (seen = Interlocked.Read(ref _latencyMinMs)) && Interlocked.CompareExchange(ref _latencyMinMs, ms, seen) != seen)
        {
        }

        while (ms > (seen = Interlocked.Read(ref _latencyMaxMs)) && Interlocked.CompareExchange(ref _latencyMaxMs, ms, seen) != seen)
        {
        }
    }

    /// <summary><c>srst</c>: zero latency and packet counters.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _packetsReceived, 0);
        Interlocked.Exchange(ref _packetsSent, 0);
        Interlocked.Exchange(ref _latencyTotalMs, 0);
        Interlocked.Exchange(ref _latencyCount, 0);
        Interlocked.Exchange(ref _latencyMinMs, long.MaxValue);
        Interlocked.Exchange(ref _latencyMaxMs, 0);
    }
}
