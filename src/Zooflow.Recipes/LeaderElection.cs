using System.Threading.Channels;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Recipes;

/// <summary>
/// Leader election by lock (Curator's <c>LeaderSelector</c>, kazoo's <c>Election</c>): candidates queue on a fair lock; the
/// holder runs its leadership function, and gives leadership up when that function returns or the lock is lost.
/// </summary>
public sealed class LeaderElection
{
    private readonly DistributedLock _lock;

    /// <summary>Creates an election at <paramref name="path"/>.</summary>
    public LeaderElection(ZooKeeperClient client, string path)
    {
        _lock = new DistributedLock(client, path);
    }

    /// <summary>
    /// Waits to be elected, then runs <paramref name="leadership"/> with a token that is cancelled when leadership is lost
    /// (session expired) or <paramref name="cancellationToken"/> is cancelled; releases leadership when it returns.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> leadership, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadership);
        await using var handle = await _lock.AcquireAsync(cancellationToken).ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, handle.Lost);
        await leadership(linked.Token).ConfigureAwait(false);
    }
}

/// <summary>
/// A leader latch (Curator's <c>LeaderLatch</c>): each participant keeps an ephemeral-sequential node; the lowest is the
/// leader. Followers watch only their predecessor. Leadership is dropped while the connection is lost (it cannot be
/// confirmed; Curator's SUSPENDED), re-checked after reconnecting, and lost for good when the session expires.
/// </summary>
public sealed class LeaderLatch : IAsyncDisposable
{
    private readonly ZooKeeperClient _client;
    private readonly string _path;
    private readonly string _participantId;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _leaderTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private string? _ourPath;
    private volatile bool _isLeader;

    /// <summary>Creates a latch at <paramref name="path"/>; <paramref name="participantId"/> is stored as the node's data.</summary>
    public LeaderLatch(ZooKeeperClient client, string path, string participantId = "")
    {
        _client = client;
        _path = path;
        _participantId = participantId;
    }

    /// <summary>Raised (on a background task) with true when this participant becomes leader and false when it stops being.</summary>
    public event Action<bool>? LeadershipChanged;

    /// <summary>True while this participant is the confirmed leader.</summary>
    public bool HasLeadership => _isLeader;

    /// <summary>This participant's node (null before <see cref="StartAsync"/>). While it exists and is the lowest, no one
    /// else can be leader, so a write guarded by <c>check(ParticipantPath)</c> in a multi is fenced to this leader.</summary>
    public string? ParticipantPath => _ourPath;

    /// <summary>Joins the election (creates the participant node) and starts following it.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("LeaderLatch already started");
        }

        await _client.EnsurePathAsync(_path, cancellationToken).ConfigureAwait(false);
        _ourPath = await _client.CreateAsync(ZkPaths.Join(_path, "latch-"), System.Text.Encoding.UTF8.GetBytes(_participantId),
            mode: CreateMode.EphemeralSequential, cancellationToken: cancellationToken).ConfigureAwait(false);
        _client.StateChanged += OnStateChanged;
        _loop = Task.Run(RunAsync, CancellationToken.None);
        Wake();
    }

    /// <summary>Waits until this participant is leader.</summary>
    public Task AwaitLeadershipAsync(CancellationToken cancellationToken = default) => _leaderTcs.Task.WaitAsync(cancellationToken);

    /// <summary>The participant ids (node data) in election order; the first is the leader.</summary>
    public async Task<IReadOnlyList<string>> GetParticipantsAsync(CancellationToken cancellationToken = default)
    {
        var children = ZkPaths.SortBySequence(await _client.GetChildrenAsync(_path, cancellationToken: cancellationToken).ConfigureAwait(false));
        var result = new List<string>(children.Count);
        foreach (var child in children)
        {
            try
            {
                var (data, _) = await _client.GetDataAsync(ZkPaths.Join(_path, child), cancellationToken: cancellationToken).ConfigureAwait(false);
                result.Add(System.Text.Encoding.UTF8.GetString(data));
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NoNode)
            {
            }
        }

        return result;
    }

    /// <summary>Leaves the election (deletes the node; the next participant takes over).</summary>
    public async ValueTask DisposeAsync()
    {
        _client.StateChanged -= OnStateChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        SetLeader(false);
        if (_ourPath is not null && _client.State is not (ConnectionState.Expired or ConnectionState.Closed))
        {
            try
            {
                await ZkPaths.RetryAsync(() => _client.DeleteAsync(_ourPath), CancellationToken.None, attemptsMax: 20).ConfigureAwait(false);
            }
            catch (KeeperException)
            {
            }
        }

        _stop.Dispose();
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private void OnStateChanged(ConnectionState state)
    {
        if (state != ConnectionState.Connected)
        {
            SetLeader(false);
        }

        Wake();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
        {
            _wake.Reader.TryRead(out _);
            if (_client.State is ConnectionState.Expired or ConnectionState.Closed or ConnectionState.AuthFailed)
            {
                SetLeader(false);
                return;
            }

            if (_client.State != ConnectionState.Connected)
            {
                continue;
            }

            try
            {
                var sorted = ZkPaths.SortBySequence(await _client.GetChildrenAsync(_path, cancellationToken: token).ConfigureAwait(false));
                var ourName = ZkPaths.NodeName(_ourPath!);
                var index = sorted.IndexOf(ourName);
                if (index < 0)
                {
                    SetLeader(false);
                    return; // our node is gone: the session expired or someone removed us
                }

                if (index == 0)
                {
                    SetLeader(true);
                    continue;
                }

                SetLeader(false);
                var predecessor = ZkPaths.Join(_path, sorted[index - 1]);
                if (await _client.ExistsAsync(predecessor, e =>
                    {
                        if (e.Type != EventType.None)
                        {
                            Wake();
                        }
                    }, token).ConfigureAwait(false) is null)
                {
                    Wake();
                }
            }
            catch (KeeperException e) when (e.Code == ErrorCode.ConnectionLoss)
            {
                // Reconnect brings a state change that wakes us.
            }
        }
    }

    private void SetLeader(bool leader)
    {
        if (_isLeader == leader)
        {
            return;
        }

        _isLeader = leader;
        if (leader)
        {
            _leaderTcs.TrySetResult();
        }
        else
        {
            _leaderTcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        try
        {
            LeadershipChanged?.Invoke(leader);
        }
#pragma warning disable CA1031 // a listener fault must not stop the latch
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
