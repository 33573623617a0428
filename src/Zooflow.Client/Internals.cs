using System.Threading.Channels;
using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>What a reply told us: the error code, the decoded body (null for errors and body-less replies) and the zxid.</summary>
internal readonly record struct Reply(ErrorCode Err, object? Body, long Zxid);

/// <summary>Which client-side watch table a successful reply registers its watcher in.</summary>
internal enum WatchKind
{
    /// <summary>getData: data table on success.</summary>
    Data,
    /// <summary>exists: data table if the node exists, exist table on NoNode.</summary>
    Exists,
    /// <summary>getChildren: child table on success.</summary>
    Child,
    /// <summary>addWatch persistent.</summary>
    Persistent,
    /// <summary>addWatch persistent recursive.</summary>
    PersistentRecursive,
}

/// <summary>A watcher to register when the reply comes back (ZooKeeper registers watches only after the server accepted them).</summary>
internal sealed record WatchRegistration(WatchKind Kind, string ClientPath, Action<WatchedEvent> Watcher);

/// <summary>One request on its way: queued, written (then pending a reply), or completed.</summary>
internal sealed class Packet
{
    public Packet(OpCode op, IJuteWritable? body, WatchRegistration? watch)
    {
        Op = op;
        Body = body;
        Watch = watch;
    }

    public OpCode Op { get; }

    public IJuteWritable? Body { get; }

    public WatchRegistration? Watch { get; }

    public TaskCompletionSource<Reply> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Assigned by the single writer, so xids are in wire order.</summary>
    public int Xid { get; set; }
}

/// <summary>
/// The event thread: runs watcher callbacks one at a time in the order the events arrived, and (while callbacks are queued)
/// reply completions too, so that a watcher always runs before the reply of a later request is seen (ZooKeeper's
/// "watch event before new data" guarantee). With nothing queued, replies complete directly on the reader.
/// </summary>
internal sealed class EventDispatcher
{
    private readonly Channel<Action> _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private int _queued;

    public EventDispatcher()
    {
        _loop = Task.Run(RunAsync);
    }

    public bool HasQueued => Volatile.Read(ref _queued) > 0;

    public void Enqueue(Action action)
    {
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(action))
        {
            Interlocked.Decrement(ref _queued);
            Invoke(action);
        }
    }

    public Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        return _loop;
    }

    private async Task RunAsync()
    {
        await foreach (var action in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            Invoke(action);
            Interlocked.Decrement(ref _queued);
        }
    }

    private static void Invoke(Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // A throwing watcher must not stop the delivery of every later event.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
