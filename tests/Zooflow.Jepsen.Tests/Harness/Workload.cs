using System.Globalization;
using System.Text;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.TestKit.Linearizability;

namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// The znodes the clients work on: registers <c>/jepsen/r/rNNNNN</c> (created before the faults, data "0") and the
/// sequence parent <c>/jepsen/seq</c>.
/// </summary>
/// <remarks>
/// Registers rotate like Jepsen's independent keys: every <see cref="RotationOps"/> register ops the window of three
/// active registers moves one register on, so each register sees a few hundred ops at most and its history stays cheap to
/// check, while a long run still covers many registers.
/// </remarks>
public sealed class KeySpace(int count, int rotationOps)
{
    public const string Root = "/jepsen";
    public const string RegisterParent = "/jepsen/r";
    public const string SequenceParent = "/jepsen/seq";
    public const string SequencePrefix = "/jepsen/seq/s-";
    private const int Window = 3;
    private long _issued;
    private int _maxUsed = -1;

    /// <summary>Registers created up front.</summary>
    public int Count { get; } = count;

    /// <summary>Register ops after which the window moves one register on.</summary>
    public int RotationOps { get; } = rotationOps;

    /// <summary>The highest register any client used.</summary>
    public int MaxUsed => Volatile.Read(ref _maxUsed);

    public static string RegisterPath(int key) => RegisterParent + "/r" + key.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>The register for the next op (one of the active window; the last register once all are used up).</summary>
    public int Pick(Random random)
    {
        var window = Interlocked.Increment(ref _issued) / RotationOps;
        var key = (int)Math.Min(window + random.Next(Window), Count - 1);
        int seen;
        while ((seen = Volatile.Read(ref _maxUsed)) < key && Interlocked.CompareExchange(ref _maxUsed, key, seen) != seen)
        {
        }

        return key;
    }

    /// <summary>Creates the parents and every register (idempotent: NodeExists is fine), retrying connection losses.</summary>
    public async Task CreateAsync(ZooKeeperClient zk, CancellationToken cancellationToken)
    {
        foreach (var path in new[] { Root, RegisterParent, SequenceParent })
        {
            await RetryAsync(() => zk.MultiAsync([Op.Create(path, null)], cancellationToken), cancellationToken);
        }

        const int Batch = 200;
        for (var first = 0; first < Count; first += Batch)
        {
            var batch = Enumerable.Range(first, Math.Min(Batch, Count - first)).Select(k => Op.Create(RegisterPath(k), Encode(0))).ToList();
            await RetryAsync(() => zk.MultiAsync(batch, cancellationToken), cancellationToken);
        }
    }

    public static byte[] Encode(long value) => Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture));

    public static long Decode(byte[] data) => long.Parse(Encoding.ASCII.GetString(data), NumberStyles.None, CultureInfo.InvariantCulture);

    private static async Task RetryAsync(Func<Task> action, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await action();
                return;
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NodeExists)
            {
                return;
            }
            catch (KeeperException e) when (e.IsRetryable && attempt < 50)
            {
                await Task.Delay(200, cancellationToken);
            }
        }
    }
}

/// <summary>Settings of the clients.</summary>
/// <param name="SessionTimeout">Requested session timeout.</param>
/// <param name="OpTimeout">An op without a reply by then is recorded as indeterminate (the client moves on).</param>
/// <param name="MaxStaggerMs">Each client waits 0..this between ops (Jepsen's stagger), which keeps per-register
/// histories small without making ops less concurrent.</param>
public sealed record WorkloadOptions(TimeSpan SessionTimeout, TimeSpan OpTimeout, int MaxStaggerMs);

/// <summary>
/// One logical client: one session at a time (a new one after expiry), pinned to one member or given every member,
/// issuing one op at a time and recording each in the <see cref="History"/>.
/// </summary>
/// <remarks>
/// Op mix: 30 % getData, 15 % sync+getData, 15 % setData, 25 % compare-and-set (setData with the version this client
/// last saw; a quarter of them as multi(check, setData)), 15 % sequential create. Outcomes: ok; fail only when the
/// server answered with an error that proves the op did nothing (BadVersion, NoNode, NodeExists); info for everything
/// else (connection loss, session expiry, timeout), since the op may or may not have been applied. The client waits
/// for a connection before invoking an op, so a member that is down does not flood the history with ops that never
/// left the client.
/// </remarks>
public sealed class JepsenClient(
    int id,
    int pinnedMember,
    string connectString,
    History history,
    KeySpace keys,
    Random random,
    WorkloadOptions options,
    Func<long> nextValue)
{
    private readonly Dictionary<int, int> _lastVersion = [];
    private ZooKeeperClient? _zk;
    private int _sessionIndex = -1;

    public int Id { get; } = id;

    /// <summary>Sessions this client opened.</summary>
    public int Sessions => _sessionIndex + 1;

    /// <summary>Ops that ended with an exception the harness did not expect (e.g. a protocol error), with their text.</summary>
    public List<string> Unexpected { get; } = [];

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (!await EnsureSessionAsync(stop))
                {
                    continue;
                }

                await RunOneAsync(_zk!);
                await Task.Delay(random.Next(options.MaxStaggerMs + 1), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            if (_zk is not null)
            {
                await _zk.DisposeAsync();
            }
        }
    }

    private async Task<bool> EnsureSessionAsync(CancellationToken stop)
    {
        if (_zk is { State: ConnectionState.Expired or ConnectionState.Closed or ConnectionState.AuthFailed } dead)
        {
            await dead.DisposeAsync();
            _zk = null;
        }

        if (_zk is null)
        {
            try
            {
                _zk = await ZooKeeperClient.ConnectAsync(connectString, new ZooKeeperClientOptions
                {
                    SessionTimeout = options.SessionTimeout,
                    ConnectTimeout = TimeSpan.FromSeconds(15),
                    Random = new Random(random.Next()),
                }, stop);
                _sessionIndex++;
                _lastVersion.Clear();
                return true;
            }
            catch (Exception e) when (e is TimeoutException or KeeperException)
            {
                return false;
            }
        }

        // Wait (bounded, then re-check) for the session's connection to come back.
        var waitUntil = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        while (_zk.State == ConnectionState.Connecting && DateTime.UtcNow < waitUntil)
        {
            await Task.Delay(10, stop);
        }

        return _zk.State == ConnectionState.Connected;
    }

    private async Task RunOneAsync(ZooKeeperClient zk)
    {
        var roll = random.Next(100);
        var type = roll switch
        {
            < 30 => JepsenOpType.Read,
            < 45 => JepsenOpType.SyncRead,
            < 60 => JepsenOpType.Write,
            < 85 => JepsenOpType.CompareAndSet,
            _ => JepsenOpType.CreateSequential,
        };
        var key = type == JepsenOpType.CreateSequential ? -1 : keys.Pick(random);
        var value = type is JepsenOpType.Write or JepsenOpType.CompareAndSet or JepsenOpType.CreateSequential ? nextValue() : 0;
        var expected = type == JepsenOpType.CompareAndSet ? _lastVersion.GetValueOrDefault(key) : -1;
        var viaMulti = type == JepsenOpType.CompareAndSet && random.Next(4) == 0;
        var op = history.Invoke((opId, now) => new JepsenOp
        {
            Id = opId,
            Client = Id,
            SessionIndex = _sessionIndex,
            SessionId = zk.SessionId,
            PinnedMember = pinnedMember,
            Type = type,
            Key = key,
            WriteValue = value,
            ExpectedVersion = expected,
            ViaMulti = viaMulti,
            InvokeTicks = now,
            SeenZxidBefore = zk.LastZxid,
        });

        // Only the op timeout cancels: stopping the run lets the op in flight finish, so its outcome is known.
        using var timeout = new CancellationTokenSource(options.OpTimeout);
        var ct = timeout.Token;
        try
        {
            switch (type)
            {
                case JepsenOpType.Read:
                case JepsenOpType.SyncRead:
                    var path = KeySpace.RegisterPath(key);
                    if (type == JepsenOpType.SyncRead)
                    {
                        await zk.SyncAsync(path, ct);
                    }

                    var (data, stat) = await zk.GetDataAsync(path, cancellationToken: ct);
                    op.CompleteRead(History.Now, stat.Version, KeySpace.Decode(data), stat.Mzxid, zk.LastZxid);
                    _lastVersion[key] = stat.Version;
                    break;
                case JepsenOpType.Write:
                    var written = await zk.SetDataAsync(KeySpace.RegisterPath(key), KeySpace.Encode(value), -1, ct);
                    op.CompleteWrite(History.Now, written.Version, written.Mzxid, zk.LastZxid);
                    _lastVersion[key] = written.Version;
                    break;
                case JepsenOpType.CompareAndSet:
                    Stat swapped;
                    if (viaMulti)
                    {
                        var results = await zk.MultiAsync(
                            [Op.Check(KeySpace.RegisterPath(key), expected), Op.SetData(KeySpace.RegisterPath(key), KeySpace.Encode(value))], ct);
                        swapped = ((SetDataResult)results[1]).Stat;
                    }
                    else
                    {
                        swapped = await zk.SetDataAsync(KeySpace.RegisterPath(key), KeySpace.Encode(value), expected, ct);
                    }

                    op.CompleteWrite(History.Now, swapped.Version, swapped.Mzxid, zk.LastZxid);
                    _lastVersion[key] = swapped.Version;
                    break;
                default:
                    var (created, createdStat) = await zk.CreateWithStatAsync(KeySpace.SequencePrefix, KeySpace.Encode(value),
                        mode: CreateMode.PersistentSequential, cancellationToken: ct);
                    op.CompleteCreate(History.Now, SequentialCreates.SequenceOf(created), createdStat.Czxid, zk.LastZxid);
                    break;
            }
        }
        catch (KeeperException e) when (e.Code is ErrorCode.BadVersion or ErrorCode.NoNode or ErrorCode.NodeExists)
        {
            op.CompleteWithError(History.Now, OpOutcome.Fail, e.Code.ToString(), zk.LastZxid);
            if (e.Code == ErrorCode.BadVersion)
            {
                _lastVersion.Remove(key);
            }
        }
        catch (KeeperException e)
        {
            op.CompleteWithError(History.Now, OpOutcome.Info, e.Code.ToString(), zk.LastZxid);
        }
        catch (OperationCanceledException)
        {
            op.CompleteWithError(History.Now, OpOutcome.Info, $"no reply within {options.OpTimeout.TotalSeconds:0} s", zk.LastZxid);
        }
#pragma warning disable CA1031 // anything else is recorded (as indeterminate) and reported as unexpected
        catch (Exception e)
#pragma warning restore CA1031
        {
            op.CompleteWithError(History.Now, OpOutcome.Info, e.GetType().Name, zk.LastZxid);
            lock (Unexpected)
            {
                Unexpected.Add($"{op.Describe(history.OriginTicks)}: {e}");
            }
        }
    }
}
