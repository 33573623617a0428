using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Consensus;
using Zooflow.Storage;

namespace Zooflow.Server.Persistence;

/// <summary>
/// An ensemble member's durable consensus state, and the core's <see cref="IZabStorage"/> over it: the transaction log
/// (<see cref="TxnLog"/>, records are the committed-or-not transactions as <c>TxnCodec</c> bytes), the two epoch files
/// and the log's base. The driver writes through it, one <see cref="Ready"/> at a time, in the contract's order:
/// snapshot install, truncation, appends (one group-committed fsync), then the hard state.
/// </summary>
/// <remarks>
/// <para>Files in dataDir (dataLogDir for the log), all written temp + fsync + rename + directory fsync:</para>
/// <code>
/// acceptedEpoch := decimal epoch "\n"     the last epoch promised to a prospective leader (ZooKeeper's file of this name)
/// currentEpoch  := decimal epoch "\n"     the last epoch whose history this server accepted (ZooKeeper's file)
/// logBase       := hex zxid [" reset"] "\n"
///                  the zxid just before the log's first record: every record after it is in the log. " reset" marks a
///                  SNAP install in progress (snapshot durable, the old log not yet removed): an open finishes it.
/// </code>
/// <para><b>Base.</b> 0 for a log that never lost a record; the snapshot's zxid after a SNAP install; the last zxid of
/// the removed segments after a purge (written before the segments go, so a crash in between only leaves extra
/// records). Reads asking for records at or before the base return false, which turns a DIFF into a SNAP.</para>
/// <para><b>Threads.</b> The core reads (<see cref="TryReadEntries"/>, <see cref="TryGetZxidAtOrBefore"/>) on the
/// server's loop; the driver's persist task writes. Truncation, snapshot install and purge take a lock that reads
/// take too; appends do not (the log allows reads during appends, and the core reads only durable records).</para>
/// </remarks>
internal sealed class ZabLogStore : IZabStorage, IAsyncDisposable
{
    /// <summary>File names (ZooKeeper's for the epochs).</summary>
    public const string AcceptedEpochFile = "acceptedEpoch";

    /// <inheritdoc cref="AcceptedEpochFile"/>
    public const string CurrentEpochFile = "currentEpoch";

    /// <inheritdoc cref="AcceptedEpochFile"/>
    public const string LogBaseFile = "logBase";

    private readonly TxnLog _log;
    private readonly SnapshotStore _snapshots;
    private readonly string _dataDir;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly int _snapCount;
    private readonly Random _random = new();
    private ValueTask[] _pending = new ValueTask[256];
    private long _base;
    private long _sinceSnapshot;
    private long _snapshotAt;
    private IEnumerator<LogRecord>? _cursor;
    private long _cursorLast = -1;

    private ZabLogStore(TxnLog log, SnapshotStore snapshots, string dataDir, HardState hardState, long logBase, int snapCount, ILogger logger)
    {
        _log = log;
        _snapshots = snapshots;
        _dataDir = dataDir;
        HardState = hardState;
        _base = logBase;
        _snapCount = Math.Max(2, snapCount);
        _snapshotAt = NextSnapshotPoint();
        _logger = logger;
    }

    /// <summary>Raised on the persist task when snapCount records were appended since the last point (ZooKeeper's
    /// randomised snapCount); the handler starts a background snapshot and must not block.</summary>
    public event Action? SnapshotDue;

    /// <inheritdoc />
    public HardState HardState { get; private set; }

    /// <summary>The zxid before the log's first record (see the remarks).</summary>
    public long Base
    {
        get
        {
            lock (_gate)
            {
                return _base;
            }
        }
    }

    /// <inheritdoc />
    public long LastZxid => Math.Max(_log.LastZxid, Base);

    /// <summary>The underlying log.</summary>
    public TxnLog Log => _log;

    /// <summary>
    /// Opens the consensus state of a data directory: reads the epoch files and the base, finishes a SNAP install that a
    /// crash interrupted, and checks that the snapshot the tree was loaded from connects to the log.
    /// </summary>
    /// <param name="dataDir">Where the epoch and base files live.</param>
    /// <param name="log">The open log (not owned: the <see cref="PersistentStore"/> that opened it closes it).</param>
    /// <param name="snapshots">The snapshot files.</param>
    /// <param name="snapshotZxid">The zxid of the snapshot the tree was restored from (0 for none).</param>
    /// <param name="snapCount">zoo.cfg snapCount.</param>
    /// <param name="logger">Logger.</param>
    /// <exception cref="InvalidDataException">An epoch or base file is unreadable, or the snapshot does not connect to
    /// the log (records between them were lost): the message says which file and what to do.</exception>
    public static ZabLogStore Open(string dataDir, TxnLog log, SnapshotStore snapshots, long snapshotZxid, int snapCount, ILogger logger)
    {
        var accepted = ReadEpoch(Path.Combine(dataDir, AcceptedEpochFile));
        var current = ReadEpoch(Path.Combine(dataDir, CurrentEpochFile));
        var (logBase, reset) = ReadBase(Path.Combine(dataDir, LogBaseFile));
        if (reset)
        {
            // A SNAP install wrote its snapshot and this marker, then stopped before the old log was gone: finish it.
            var removed = log.TruncateAfter(0);
            WriteBase(dataDir, logBase, reset: false);
            PersistenceLog.SnapInstallFinished(logger, logBase, removed);
        }

        if (snapshotZxid < logBase)
        {
            throw new InvalidDataException(
                $"the newest valid snapshot in {dataDir} is at zxid 0x{snapshotZxid:x} but the log's records start after 0x{logBase:x} ({LogBaseFile}): " +
                "the records in between are gone. Restore the snapshot, or empty this member's data directory (keeping myid) so it resynchronises from the leader.");
        }

        var last = Math.Max(log.LastZxid, logBase);
        if (snapshotZxid > last)
        {
            throw new InvalidDataException(
                $"the newest valid snapshot in {dataDir} is at zxid 0x{snapshotZxid:x}, after the log's last record 0x{last:x}: the log lost records the snapshot reflects. " +
                "Empty this member's data directory (keeping myid) so it resynchronises from the leader.");
        }

        return new ZabLogStore(log, snapshots, dataDir, new HardState(accepted, current), logBase, snapCount, logger);
    }

    /// <inheritdoc />
    public bool TryReadEntries(long afterZxid, long toZxid, int maxCount, List<LogEntry> output)
    {
        lock (_gate)
        {
            if (afterZxid < _base)
            {
                return false;
            }

            if (_cursor is null || _cursorLast != afterZxid)
            {
                ResetCursor();
                _cursor = _log.ReadFrom(afterZxid + 1).GetEnumerator();
            }

            var added = 0;
            while (added < maxCount)
            {
                if (!_cursor.MoveNext())
                {
                    // The view ended (records appended since it was taken are not in it): start a fresh one next time.
                    ResetCursor();
                    break;
                }

                var record = _cursor.Current;
                if (record.Zxid > toZxid)
                {
                    // Read one too far: the next read must start after the last one returned.
                    ResetCursor();
                    break;
                }

                output.Add(new LogEntry(record.Zxid, record.Payload));
                _cursorLast = record.Zxid;
                added++;
            }

            return true;
        }
    }

    /// <inheritdoc />
    public bool TryGetZxidAtOrBefore(long zxid, out long found)
    {
        lock (_gate)
        {
            found = 0;
            if (zxid < _base)
            {
                return false;
            }

            found = _base;
            LogSegmentInfo? segment = null;
            foreach (var s in _log.Segments)
            {
                if (s.StartZxid <= zxid)
                {
                    segment = s;
                }
            }

            if (segment is { } start)
            {
                foreach (var record in _log.ReadFrom(start.StartZxid))
                {
                    if (record.Zxid > zxid)
                    {
                        break;
                    }

                    found = Math.Max(found, record.Zxid);
                }
            }

            return true;
        }
    }

    // ---- writes (the driver's persist task, one Ready at a time) -------------------------------------------------

    /// <summary>SNAP: makes <paramref name="snapshot"/> the newest snapshot and resets the log to base its zxid, with no
    /// records. Crash-safe: the base file carries a reset marker until the old log is gone.</summary>
    public async Task InstallSnapshotAsync(SnapshotData snapshot, CancellationToken cancellationToken)
    {
        await _snapshots.WriteAsync(snapshot.Zxid, (stream, ct) => stream.WriteAsync(snapshot.Data, ct), cancellationToken).ConfigureAwait(false);
        // Own snapshots of a later zxid would be loaded on restart instead of this one; they describe committed state too,
        // but the log no longer connects to them.
        foreach (var own in _snapshots.List())
        {
            if (own.Zxid > snapshot.Zxid)
            {
                File.Delete(own.Path);
            }
        }

        lock (_gate)
        {
            ResetCursor();
            WriteBase(_dataDir, snapshot.Zxid, reset: true);
            _log.TruncateAfter(0);
            WriteBase(_dataDir, snapshot.Zxid, reset: false);
            _base = snapshot.Zxid;
        }
    }

    /// <summary>TRUNC: removes every record after <paramref name="zxid"/>, durably. Returns how many.</summary>
    public long TruncateAfter(long zxid)
    {
        lock (_gate)
        {
            ResetCursor();
            return _log.TruncateAfter(zxid);
        }
    }

    /// <summary>Appends <paramref name="entries"/> and returns when all are durable (one group-committed fsync for the
    /// batch, as the log's writer takes everything queued).</summary>
    public async Task AppendAsync(IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return;
        }

        if (_pending.Length < entries.Count)
        {
            _pending = new ValueTask[Math.Max(entries.Count, _pending.Length * 2)];
        }

        var queued = 0;
        Exception? failure = null;
        try
        {
            for (; queued < entries.Count; queued++)
            {
                _pending[queued] = _log.AppendAsync(entries[queued].Zxid, entries[queued].Data, cancellationToken);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        for (var i = 0; i < queued; i++)
        {
            try
            {
                await _pending[i].ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }

            _pending[i] = default;
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }

        _sinceSnapshot += entries.Count;
        if (_sinceSnapshot >= _snapshotAt)
        {
            _sinceSnapshot = 0;
            _snapshotAt = NextSnapshotPoint();
            _log.RollSegment();
            SnapshotDue?.Invoke();
        }
    }

    /// <summary>Writes the epochs that changed (accepted first: current never exceeds it on disk either).</summary>
    public void WriteHardState(HardState hardState)
    {
        if (hardState.AcceptedEpoch != HardState.AcceptedEpoch)
        {
            AtomicFile.Write(Path.Combine(_dataDir, AcceptedEpochFile), Encoding.ASCII.GetBytes(hardState.AcceptedEpoch.ToString(CultureInfo.InvariantCulture) + "\n"));
        }

        if (hardState.CurrentEpoch != HardState.CurrentEpoch)
        {
            AtomicFile.Write(Path.Combine(_dataDir, CurrentEpochFile), Encoding.ASCII.GetBytes(hardState.CurrentEpoch.ToString(CultureInfo.InvariantCulture) + "\n"));
        }

        HardState = hardState;
    }

    /// <summary>
    /// Retention for a member (autopurge): keeps the newest <paramref name="snapRetainCount"/> snapshots and removes log
    /// segments wholly before the oldest kept one, never after <paramref name="appliedZxid"/>. The base moves first.
    /// </summary>
    public PurgeResult Purge(int snapRetainCount, long appliedZxid)
    {
        lock (_gate)
        {
            var snapshots = _snapshots.Purge(snapRetainCount);
            if (snapshots.OldestKeptZxid is not { } oldest)
            {
                return new PurgeResult(snapshots.Deleted, [], null);
            }

            var keepFrom = Math.Min(oldest, appliedZxid);
            var segments = _log.Segments;
            var keepIndex = -1;
            for (var i = 0; i < segments.Count; i++)
            {
                if (segments[i].StartZxid <= keepFrom)
                {
                    keepIndex = i;
                }
            }

            if (keepIndex <= 0)
            {
                return new PurgeResult(snapshots.Deleted, [], oldest);
            }

            ResetCursor();
            var newBase = segments[keepIndex - 1].LastZxid;
            if (newBase > _base)
            {
                WriteBase(_dataDir, newBase, reset: false);
                _base = newBase;
            }

            var deleted = _log.PurgeSegmentsBefore(keepFrom);
            return new PurgeResult(snapshots.Deleted, deleted, oldest);
        }
    }

    private void ResetCursor()
    {
        _cursor?.Dispose();
        _cursor = null;
        _cursorLast = -1;
    }

    private long NextSnapshotPoint() => _snapCount / 2 + _random.NextInt64(Math.Max(1, _snapCount / 2));

    private static long ReadEpoch(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        var text = File.ReadAllText(path).Trim();
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            throw new InvalidDataException(
                $"{path} holds '{(text.Length > 40 ? text[..40] + "..." : text)}', not an epoch (a decimal number). It is written atomically, so this is damage: " +
                "restore it, or empty this member's data directory (keeping myid) so it resynchronises from the leader.");
        }

        return epoch;
    }

    private static (long Base, bool Reset) ReadBase(string path)
    {
        if (!File.Exists(path))
        {
            return (0, false);
        }

        var text = File.ReadAllText(path).Trim();
        var parts = text.Split(' ');
        if (parts.Length is < 1 or > 2 || (parts.Length == 2 && parts[1] != "reset")
            || !long.TryParse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var zxid) || zxid < 0)
        {
            throw new InvalidDataException($"{path} holds '{text}', expected a hex zxid optionally followed by ' reset'.");
        }

        return (zxid, parts.Length == 2);
    }

    private static void WriteBase(string dataDir, long zxid, bool reset) =>
        AtomicFile.Write(Path.Combine(dataDir, LogBaseFile), Encoding.ASCII.GetBytes(zxid.ToString("x", CultureInfo.InvariantCulture) + (reset ? " reset\n" : "\n")));

    /// <summary>Releases the read cursor (the log itself belongs to its <see cref="PersistentStore"/>).</summary>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            ResetCursor();
        }

        return ValueTask.CompletedTask;
    }
}
