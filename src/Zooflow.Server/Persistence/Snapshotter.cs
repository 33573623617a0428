using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.DataTree;
using Zooflow.Storage;

namespace Zooflow.Server.Persistence;

/// <summary>
/// Background snapshots that never pause writes (ZooKeeper's fuzzy snapshot). The tree belongs to the state machine loop,
/// so nodes are collected on the loop in small chunks (<see cref="ChunkNodes"/> per loop turn, a <see cref="FuzzyTreeWalk"/>
/// that copies each node's fields into a reused buffer and builds no path strings) and serialized and written off the loop. Writes that apply between chunks may or may not be in the
/// snapshot; the snapshot is named by the last applied zxid when it started and recovery replays every transaction after it,
/// which converges because applying a transaction over a fuzzy snapshot is idempotent.
/// </summary>
public sealed class Snapshotter : IAsyncDisposable
{
    /// <summary>Nodes collected per loop turn: small enough that one turn costs well under a millisecond.</summary>
    public const int ChunkNodes = 2000;

    private readonly SnapshotStore _store;
    private readonly Func<Action<ZnodeTree>, CancellationToken, Task> _onLoop;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _due = new(0, 1);
    private Task _loop = Task.CompletedTask;
    private int _taken;

    /// <param name="store">Where snapshots go.</param>
    /// <param name="onLoop">Runs an action on the state machine loop (which owns the tree) and completes after it ran.</param>
    /// <param name="logger">Logger.</param>
    public Snapshotter(SnapshotStore store, Func<Action<ZnodeTree>, CancellationToken, Task> onLoop, ILogger logger)
    {
        _store = store;
        _onLoop = onLoop;
        _logger = logger;
    }

    /// <summary>Snapshots written since start.</summary>
    public int Taken => Volatile.Read(ref _taken);

    /// <summary>Raised after each snapshot is durable (zxid of the snapshot).</summary>
    public event Action<long>? Written;

    /// <summary>Starts the background loop.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Asks for a snapshot; coalesces with one already requested. Never blocks.</summary>
    public void Request()
    {
        try
        {
            if (_due.CurrentCount == 0)
            {
                _due.Release();
            }
        }
        catch (SemaphoreFullException)
        {
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            while (true)
            {
                await _due.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    await TakeAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // A failed snapshot costs only replay time; the log still holds everything. Try again at the next point.
                    PersistenceLog.SnapshotFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Takes one fuzzy snapshot now and returns its zxid.</summary>
    public async Task<long> TakeAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        long zxid = 0;
        KeyValuePair<long, int>[] sessions = [];
        await _onLoop(tree =>
        {
            zxid = tree.LastProcessedZxid;
            sessions = [.. tree.Sessions];
        }, cancellationToken).ConfigureAwait(false);

        long nodes = 0;
        var info = await _store.WriteAsync(zxid, async (stream, ct) =>
        {
            using var buffered = new BufferedStream(stream, 1 << 16);
            using var writer = new BinaryWriter(buffered, Encoding.UTF8, leaveOpen: true);
            TreeSnapshot.WriteHeader(writer, sessions);
            var walk = (FuzzyTreeWalk?)null;
            var chunk = new NodeRecord[ChunkNodes];
            var scratch = new byte[256];
            var count = 0;
            do
            {
                await _onLoop(tree => count = (walk ??= new FuzzyTreeWalk(tree)).Collect(chunk), ct).ConfigureAwait(false);
                for (var i = 0; i < count; i++)
                {
                    TreeSnapshot.WriteNode(writer, chunk[i], ref scratch);
                }

                // Drop the references so the chunk does not keep replaced data alive until the next turn.
                Array.Clear(chunk, 0, count);
                nodes += count;
            }
            while (count > 0);

            TreeSnapshot.WriteEnd(writer, nodes);
            writer.Flush();
            await buffered.FlushAsync(ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _taken);
        PersistenceLog.SnapshotTaken(_logger, info.Path, zxid, nodes, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        Written?.Invoke(zxid);
        return zxid;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
