using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Storage;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// The data directories of one file channel: a <see cref="TxnLog"/> per directory (group commit, checksummed records,
/// torn-tail recovery), one write-order counter across them, committed transactions spread over the directories in turn,
/// and random reads of single events by <see cref="EventPointer"/>. Record format: <see cref="DataRecord"/>.
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="Append"/>, <see cref="Register"/> and <see cref="Purge"/> run under the channel's lock (the
/// write order must be assigned and queued in one step); <see cref="Read"/> may run concurrently from any thread.
/// </remarks>
internal sealed class DataLog : IAsyncDisposable
{
    /// <summary>Flume preallocates 1 MiB of its data files at a time; so do we, with zeros (see
    /// <see cref="TxnLogOptions.ZeroFillPreallocation"/>).</summary>
    private const long PreallocateBytes = 1024 * 1024;

    /// <summary>Event offsets are 32-bit: a data file rolls before 2 GiB minus one largest batch.</summary>
    private const long SegmentBytesLimit = int.MaxValue - 2L * (DataRecord.RecordBytesMax + 64);

    private readonly DataDirectory[] _directories;
    private readonly ConcurrentDictionary<long, int> _segmentDirectory = new();
    private readonly ConcurrentDictionary<long, SafeFileHandle> _readers = new();
    private readonly ILogger _logger;
    private long _nextWriteOrder;
    private int _nextDirectory;

    private DataLog(DataDirectory[] directories, ILogger logger)
    {
        _directories = directories;
        _logger = logger;
        long last = 0;
        for (var i = 0; i < directories.Length; i++)
        {
            foreach (var segment in directories[i].Log.Segments)
            {
                _segmentDirectory[segment.StartZxid] = i;
            }
            last = Math.Max(last, directories[i].Log.LastZxid);
        }
        _nextWriteOrder = last + 1;
    }

    /// <summary>The directories, in configuration order.</summary>
    public IReadOnlyList<DataDirectory> Directories => _directories;

    /// <summary>The highest write order on disk (0 when empty).</summary>
    public long LastWriteOrder => _nextWriteOrder - 1;

    /// <summary>
    /// Opens (recovering) the log of every data directory. The caller holds the directories' locks. A directory holding
    /// <c>log.*</c> files that are not file channel data files (a ZooKeeper or Zooflow server log) is refused.
    /// </summary>
    /// <exception cref="ChannelException">A directory holds foreign log files.</exception>
    public static DataLog Open(FileChannelOptions options, string channelDescriptor, TimeProvider clock, ILogger logger)
    {
        var directories = new List<DataDirectory>(options.DataDirs.Count);
        try
        {
            foreach (var path in options.DataDirs)
            {
                System.IO.Directory.CreateDirectory(path);
                CheckOwnFiles(path, channelDescriptor);
                var log = TxnLog.Open(new TxnLogOptions
                {
                    Directory = path,
                    ForceSync = options.FsyncPerTransaction,
                    UseDataSync = true,
                    ZeroFillPreallocation = true,
                    PreallocateBytes = PreallocateBytes,
                    SegmentBytesMax = Math.Min(options.MaxFileSize, SegmentBytesLimit),
                    RecordBytesMax = DataRecord.RecordBytesMax,
                    BatchBytesMax = DataRecord.RecordBytesMax + 64,
                    DatabaseId = DataRecord.DatabaseId,
                    SetAsideAfterCorruption = false,
                }, logger);
                directories.Add(new DataDirectory(path, log, new DiskSpace(path, options.MinimumRequiredSpace, clock)));
            }
        }
        catch
        {
            foreach (var directory in directories)
            {
                directory.Log.Dispose();
            }
            throw;
        }
        return new DataLog([.. directories], logger);
    }

    /// <summary>The data directory holding segment <paramref name="segment"/>, or -1 when no data file has that name.</summary>
    public int DirectoryOf(long segment) => _segmentDirectory.TryGetValue(segment, out var index) ? index : -1;

    /// <summary>Every data file with the end of its durable records, by name (write order of its first record).</summary>
    public Dictionary<long, long> SegmentEnds()
    {
        var ends = new Dictionary<long, long>();
        foreach (var directory in _directories)
        {
            foreach (var info in directory.Log.Segments)
            {
                ends[info.StartZxid] = info.EndOffset;
            }
        }
        return ends;
    }

    /// <summary>
    /// Queues the records of one committing transaction in the next data directory, assigning their write orders.
    /// Runs under the channel's lock. With <paramref name="checkSpace"/> (puts), refuses when the directory's free space
    /// would fall below minimumRequiredSpace.
    /// </summary>
    /// <exception cref="ChannelFullException">Not enough free space (Flume's "Usable space exhausted" message).</exception>
    public PendingWrite Append(EncodedTransaction encoded, byte kind, bool checkSpace, string channelDescriptor)
    {
        var index = _nextDirectory;
        _nextDirectory = (_nextDirectory + 1) % _directories.Length;
        var directory = _directories[index];
        if (checkSpace && !directory.Space.TryReserve(encoded.TotalBytes, out var usable, out var required))
        {
            throw new ChannelFullException($"Usable space exhausted, only {usable} bytes remaining, required {required} bytes (data directory {directory.Path}) {channelDescriptor}");
        }
        var first = _nextWriteOrder;
        encoded.Seal(kind, first);
        var writes = new ValueTask<LogPosition>[encoded.RecordCount];
        for (var i = 0; i < encoded.RecordCount; i++)
        {
            try
            {
                writes[i] = directory.Log.AppendLocatedAsync(first + i, encoded.Record(i));
            }
            catch when (i > 0)
            {
                // Earlier records are queued and will be written from these buffers: never return them to the pool.
                // Without their COMMIT record, replay ignores them.
                encoded.Abandon();
                _nextWriteOrder += encoded.RecordCount;
                throw;
            }
        }
        _nextWriteOrder += encoded.RecordCount;
        return new PendingWrite(index, first, first + encoded.RecordCount - 1, writes);
    }

    /// <summary>Makes the next write order greater than <paramref name="writeOrder"/> (a checkpoint may be newer than
    /// every record left in the data files).</summary>
    public void AdvancePast(long writeOrder) => _nextWriteOrder = Math.Max(_nextWriteOrder, writeOrder + 1);

    /// <summary>A write in <paramref name="directory"/> failed for lack of space: re-read its free space next time.</summary>
    public void SpaceExhausted(int directory) => _directories[directory].Space.Invalidate();

    /// <summary>Notes which directory a data file is in (first seen when a write completes in it).</summary>
    public void Register(long segment, int directory) => _segmentDirectory.TryAdd(segment, directory);

    /// <summary>
    /// Reads up to <paramref name="destination"/>.Length bytes of data file <paramref name="segment"/> at
    /// <paramref name="offset"/>; returns the count (short at the end of the file).
    /// </summary>
    /// <exception cref="IOException">The file is missing or unreadable.</exception>
    public int Read(long segment, long offset, Span<byte> destination)
    {
        var handle = _readers.GetOrAdd(segment, static (s, self) => self.OpenReader(s), this);
        return RandomAccess.Read(handle, destination, offset);
    }

    /// <summary>Records with write order &gt;= <paramref name="fromWriteOrder"/> of every directory, merged in write
    /// order, each with the index of its directory.</summary>
    public IEnumerable<(int Directory, LogRecord Record)> ReadFrom(long fromWriteOrder)
    {
        var cursors = new IEnumerator<LogRecord>[_directories.Length];
        var live = new bool[_directories.Length];
        try
        {
            for (var i = 0; i < _directories.Length; i++)
            {
                cursors[i] = _directories[i].Log.ReadFrom(fromWriteOrder).GetEnumerator();
                live[i] = cursors[i].MoveNext();
            }
            while (true)
            {
                var next = -1;
                for (var i = 0; i < cursors.Length; i++)
                {
                    if (live[i] && (next < 0 || cursors[i].Current.Zxid < cursors[next].Current.Zxid))
                    {
                        next = i;
                    }
                }
                if (next < 0)
                {
                    yield break;
                }
                yield return (next, cursors[next].Current);
                live[next] = cursors[next].MoveNext();
            }
        }
        finally
        {
            foreach (var cursor in cursors)
            {
                cursor?.Dispose();
            }
        }
    }

    /// <summary>
    /// Deletes the data files no longer needed: in each directory those wholly before both the checkpoint's replay start
    /// (<paramref name="checkpointWriteOrder"/> + 1) and the oldest data file the checkpointed queue still references
    /// there (the newest file is always kept). Returns the deleted files.
    /// </summary>
    public IReadOnlyList<string> Purge(long checkpointWriteOrder, IReadOnlyDictionary<int, long> oldestReferenced)
    {
        var deleted = new List<string>();
        for (var i = 0; i < _directories.Length; i++)
        {
            var keepFrom = checkpointWriteOrder + 1;
            if (oldestReferenced.TryGetValue(i, out var oldest))
            {
                keepFrom = Math.Min(keepFrom, oldest);
            }
            foreach (var path in _directories[i].Log.PurgeSegmentsBefore(keepFrom))
            {
                deleted.Add(path);
                if (Zxid.TryParseFileName(Path.GetFileName(path), "log.", out var segment))
                {
                    _segmentDirectory.TryRemove(segment, out _);
                    if (_readers.TryRemove(segment, out var handle))
                    {
                        handle.Dispose();
                    }
                }
            }
        }
        return deleted;
    }

    /// <summary>Flushes every directory's active data file (before a checkpoint, and periodically without
    /// fsyncPerTransaction).</summary>
    public void Sync()
    {
        foreach (var directory in _directories)
        {
            directory.Log.Sync();
        }
    }

    /// <summary>Writes what is queued, closes the logs and the read handles.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var directory in _directories)
        {
            await directory.Log.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var handle in _readers.Values)
        {
            handle.Dispose();
        }
        _readers.Clear();
    }

    private SafeFileHandle OpenReader(long segment)
    {
        var index = DirectoryOf(segment);
        if (index < 0)
        {
            throw new FileNotFoundException($"no data file log.{Zxid.ToHex(segment)} in any data directory");
        }
        var path = Path.Combine(_directories[index].Path, "log." + Zxid.ToHex(segment));
        return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    }

    /// <summary>Refuses a directory whose <c>log.*</c> files carry another databaseId: not ours to replay or delete.</summary>
    private static void CheckOwnFiles(string path, string channelDescriptor)
    {
        Span<byte> header = stackalloc byte[16];
        foreach (var (_, file) in TxnLog.ListSegmentFiles(path))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Read(header) < header.Length)
            {
                continue; // Too short for a header: recovery deletes or reports it.
            }
            var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
            var id = BinaryPrimitives.ReadInt64BigEndian(header[8..]);
            if (magic == 0x5A464C47 && id != DataRecord.DatabaseId)
            {
                throw new ChannelException(
                    $"Data directory '{path}' holds {Path.GetFileName(file)}, which is not a file channel data file (databaseId 0x{id:x16}, expected 0x{DataRecord.DatabaseId:x16}; " +
                    $"it looks like a Zooflow server's transaction log). Point dataDirs at a directory of its own {channelDescriptor}");
            }
        }
    }
}

/// <summary>One data directory: its path, log and free-space check.</summary>
internal sealed record DataDirectory(string Path, TxnLog Log, DiskSpace Space);

/// <summary>The queued records of one committing transaction.</summary>
/// <param name="Directory">Index of the data directory written.</param>
/// <param name="FirstWriteOrder">Write order of the first record (the transaction id).</param>
/// <param name="LastWriteOrder">Write order of the last (COMMIT) record.</param>
/// <param name="Writes">One durability task per record, in order.</param>
internal sealed record PendingWrite(int Directory, long FirstWriteOrder, long LastWriteOrder, ValueTask<LogPosition>[] Writes);
