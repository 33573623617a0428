using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Common;

namespace Zooflow.Storage;

/// <summary>A snapshot file found in the directory (not yet verified unless it came from a load).</summary>
/// <param name="Path">Full path of <c>snapshot.&lt;hex zxid&gt;</c>.</param>
/// <param name="Zxid">The zxid in the name and header: the state includes every transaction up to it (and, for a fuzzy
/// snapshot, possibly some later ones, which replay must apply idempotently).</param>
/// <param name="Length">File length in bytes.</param>
public readonly record struct SnapshotFileInfo(string Path, long Zxid, long Length);

/// <summary>A snapshot that failed verification and was skipped.</summary>
/// <param name="Snapshot">The file.</param>
/// <param name="Reason">Why, e.g. "checksum mismatch".</param>
public readonly record struct SnapshotRejection(SnapshotFileInfo Snapshot, string Reason);

/// <summary>Outcome of <see cref="SnapshotStore.LoadNewestAsync"/>.</summary>
/// <param name="Loaded">The snapshot given to the reader, or null when none is valid (or none exists).</param>
/// <param name="Rejected">Newer snapshots skipped, newest first, with reasons (also logged as event 3011).</param>
public sealed record SnapshotLoadResult(SnapshotFileInfo? Loaded, IReadOnlyList<SnapshotRejection> Rejected);

/// <summary>Outcome of <see cref="SnapshotStore.Purge"/>.</summary>
/// <param name="Deleted">Snapshot files removed.</param>
/// <param name="OldestKeptZxid">Zxid of the oldest retained valid snapshot: log segments wholly before it may go. Null when
/// no valid snapshot exists (then nothing was deleted).</param>
public sealed record SnapshotPurgeResult(IReadOnlyList<string> Deleted, long? OldestKeptZxid);

/// <summary>
/// Snapshot files of opaque state (the DataTree serialization is the caller's), written atomically and verified on load.
/// </summary>
/// <remarks>
/// <para><b>On-disk format</b> (integers big-endian):</para>
/// <code>
/// file     := header body trailer                 named "snapshot." + lower-case hex zxid (ZooKeeper's naming)
/// header   := magic:u32 = 0x5A46534E ("ZFSN")  version:i32 = 1  zxid:i64 (equals the name's zxid)
/// body     := byte[bodyLength]                   streamed by the caller's writer callback
/// trailer  := bodyLength:i64  crc:u32  endMagic:u32 = 0x5A465345 ("ZFSE")
///             crc = CRC-32C over header and body; file length = 16 + bodyLength + 16
/// </code>
/// <para><b>Writing</b>: the body goes to <c>snapshot.&lt;hex&gt;.&lt;n&gt;.tmp</c>, then the trailer; the file is fsynced,
/// renamed to its final name, and the directory is fsynced, so a crash leaves either the complete old state or the
/// complete new file, never a partial snapshot under a real name. Leftover <c>*.tmp</c> files are deleted when a store is
/// created.</para>
/// <para><b>Loading</b>: newest first, each file is fully verified (structure, name/header zxid, CRC) before its body is
/// handed to the caller; an invalid one is logged with its reason and the next older one is tried.</para>
/// <para><b>Thread-safety</b>: all methods may be called concurrently; writes of different zxids do not interfere.
/// <see cref="Purge"/> must not run while a snapshot it would delete is being read.</para>
/// </remarks>
public sealed class SnapshotStore
{
    /// <summary>File name prefix, as in ZooKeeper.</summary>
    public const string FilePrefix = "snapshot.";

    /// <summary>ZooKeeper refuses <c>autopurge.snapRetainCount</c> below 3.</summary>
    public const int MinRetainCount = 3;

    private const uint Magic = 0x5A46534E;
    private const uint EndMagic = 0x5A465345;
    private const int Version = 1;
    private const int HeaderBytes = 16;
    private const int TrailerBytes = 16;
    private const int IoBufferBytes = 1024 * 1024;
    private const string TempSuffix = ".tmp";

    private readonly ILogger _logger;
    private int _tempCounter;

    /// <summary>Creates the store, creating <paramref name="directory"/> if missing and removing unfinished temp files.</summary>
    /// <param name="directory">Where the files live.</param>
    /// <param name="logger">Receives events 3010-3014.</param>
    /// <param name="filePrefix">File name prefix before the hex zxid (default <c>snapshot.</c>; the file channel's
    /// checkpoints use <c>checkpoint.</c>). Files with other names are ignored.</param>
    public SnapshotStore(string directory, ILogger? logger = null, string filePrefix = FilePrefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(filePrefix);
        Directory = Path.GetFullPath(directory);
        Prefix = filePrefix;
        _logger = logger ?? NullLogger.Instance;
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var temp in System.IO.Directory.EnumerateFiles(Directory, Prefix + "*" + TempSuffix))
        {
            File.Delete(temp);
            StorageLogEvents.TempRemoved(_logger, temp);
        }
    }

    /// <summary>The directory holding the snapshots (zoo.cfg <c>dataDir</c>).</summary>
    public string Directory { get; }

    /// <summary>The file name prefix (<c>snapshot.</c> unless given).</summary>
    public string Prefix { get; }

    /// <summary>
    /// Writes a snapshot for <paramref name="zxid"/>. <paramref name="writeBody"/> writes the body to the given stream
    /// (write-only, do not dispose it); the store adds header, trailer and checksum and makes the file durable.
    /// </summary>
    /// <returns>The new file, durable and visible under its final name.</returns>
    /// <exception cref="StorageException">An I/O error (e.g. disk full); the temp file is removed, no snapshot is left.</exception>
    public async Task<SnapshotFileInfo> WriteAsync(long zxid, Func<Stream, CancellationToken, ValueTask> writeBody, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writeBody);
        if (zxid < 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(zxid), zxid, "must not be negative");
        }

        var finalPath = Path.Combine(Directory, Prefix + Zxid.ToHex(zxid));
        var tempPath = $"{finalPath}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Interlocked.Increment(ref _tempCounter).ToString(CultureInfo.InvariantCulture)}{TempSuffix}";
        try
        {
            long bodyLength;
            await using (var file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, IoBufferBytes, FileOptions.Asynchronous))
            {
                var header = new byte[HeaderBytes];
                BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Version);
                BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(8), zxid);
                await file.WriteAsync(header, cancellationToken).ConfigureAwait(false);
                var body = new ChecksumWriteStream(file, Crc32C.Update(Crc32C.Initial, header));
                await writeBody(body, cancellationToken).ConfigureAwait(false);
                bodyLength = body.Length;
                var trailer = new byte[TrailerBytes];
                BinaryPrimitives.WriteInt64BigEndian(trailer, bodyLength);
                BinaryPrimitives.WriteUInt32BigEndian(trailer.AsSpan(8), Crc32C.Finish(body.Crc));
                BinaryPrimitives.WriteUInt32BigEndian(trailer.AsSpan(12), EndMagic);
                await file.WriteAsync(trailer, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                RandomAccess.FlushToDisk(file.SafeFileHandle);
            }

            File.Move(tempPath, finalPath, overwrite: true);
            DirectorySync.Fsync(Directory);
            StorageLogEvents.SnapshotWritten(_logger, finalPath, Zxid.Format(zxid), bodyLength);
            return new SnapshotFileInfo(finalPath, zxid, HeaderBytes + bodyLength + TrailerBytes);
        }
        catch (Exception e)
        {
            TryDelete(tempPath);
            if (e is IOException and not StorageException)
            {
                throw new StorageException($"Writing snapshot '{finalPath}' (zxid {Zxid.Format(zxid)}) failed: {e.Message}", tempPath, 0, e);
            }

            throw;
        }
    }

    /// <summary>The snapshot files by name, newest (highest zxid) first. Not verified.</summary>
    public IReadOnlyList<SnapshotFileInfo> List()
    {
        var result = new List<SnapshotFileInfo>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, Prefix + "*"))
        {
            if (Zxid.TryParseFileName(Path.GetFileName(path), Prefix, out var zxid))
            {
                result.Add(new SnapshotFileInfo(path, zxid, new FileInfo(path).Length));
            }
        }

        result.Sort((a, b) => b.Zxid.CompareTo(a.Zxid));
        return result;
    }

    /// <summary>
    /// Loads the newest valid snapshot: verifies candidates newest first and calls <paramref name="readBody"/> once, with
    /// a read-only stream over the verified body of the chosen file. Invalid newer files are logged and skipped.
    /// </summary>
    /// <remarks>
    /// When <see cref="SnapshotLoadResult.Loaded"/> is null but <see cref="SnapshotLoadResult.Rejected"/> is not empty, the
    /// caller must not start from an empty state unless the log still begins at zxid 1 (see <see cref="TxnLog.FirstZxid"/>).
    /// Exceptions from <paramref name="readBody"/> propagate (the body was verified, so they are bugs or I/O errors).
    /// </remarks>
    public async Task<SnapshotLoadResult> LoadNewestAsync(Func<Stream, SnapshotFileInfo, CancellationToken, ValueTask> readBody, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readBody);
        var rejected = new List<SnapshotRejection>();
        foreach (var candidate in List())
        {
            var problem = await VerifyAsync(candidate, cancellationToken).ConfigureAwait(false);
            if (problem is not null)
            {
                StorageLogEvents.SnapshotRejected(_logger, candidate.Path, problem);
                rejected.Add(new SnapshotRejection(candidate, problem));
                continue;
            }

            await ReadBodyAsync(candidate, readBody, cancellationToken).ConfigureAwait(false);

            StorageLogEvents.SnapshotLoaded(_logger, candidate.Path, Zxid.Format(candidate.Zxid));
            return new SnapshotLoadResult(candidate, rejected);
        }

        return new SnapshotLoadResult(null, rejected);
    }

    /// <summary>
    /// Reads one snapshot file outside any store, changing nothing on disk (for <c>zooflow snapshot dump</c>): verifies it
    /// fully, then calls <paramref name="readBody"/> with its body.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not <c>snapshot.&lt;hex zxid&gt;</c>.</exception>
    /// <exception cref="StorageCorruptionException">The file fails verification; the message says why.</exception>
    public static Task<SnapshotFileInfo> ReadFileAsync(string path, Func<Stream, SnapshotFileInfo, CancellationToken, ValueTask> readBody, CancellationToken cancellationToken = default) =>
        ReadFileAsync(path, FilePrefix, readBody, cancellationToken);

    /// <summary>
    /// <see cref="ReadFileAsync(string, Func{Stream, SnapshotFileInfo, CancellationToken, ValueTask}, CancellationToken)"/>
    /// for a file named with another prefix (e.g. the file channel's <c>checkpoint.</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not <paramref name="filePrefix"/> followed by a hex zxid.</exception>
    /// <exception cref="StorageCorruptionException">The file fails verification; the message says why.</exception>
    public static async Task<SnapshotFileInfo> ReadFileAsync(string path, string filePrefix, Func<Stream, SnapshotFileInfo, CancellationToken, ValueTask> readBody, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readBody);
        var full = Path.GetFullPath(path);
        if (!Zxid.TryParseFileName(Path.GetFileName(full), filePrefix, out var zxid))
        {
            ThrowHelper.ThrowArgument(nameof(path), $"'{path}' is not named {filePrefix}<hex zxid>");
        }

        var info = new SnapshotFileInfo(full, zxid, new FileInfo(full).Length);
        if (await VerifyAsync(info, cancellationToken).ConfigureAwait(false) is { } problem)
        {
            throw new StorageCorruptionException($"Snapshot '{full}' is invalid: {problem}", full, 0);
        }

        await ReadBodyAsync(info, readBody, cancellationToken).ConfigureAwait(false);
        return info;
    }

    /// <summary>Fully verifies one snapshot file (structure, zxid, CRC). Returns null when valid, else the reason.</summary>
    public static async Task<string?> VerifyAsync(SnapshotFileInfo snapshot, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var file = new FileStream(snapshot.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, IoBufferBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var header = new byte[HeaderBytes];
            var trailer = new byte[TrailerBytes];
            var structure = ReadStructure(file, snapshot, header, trailer);
            if (structure is not null)
            {
                return structure;
            }

            file.Position = 0;
            var crc = Crc32C.Initial;
            var remaining = file.Length - TrailerBytes;
            var buffer = ArrayPool<byte>.Shared.Rent(IoBufferBytes);
            try
            {
                while (remaining > 0)
                {
                    var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return $"file shrank while being verified ({remaining} bytes missing)";
                    }

                    crc = Crc32C.Update(crc, buffer.AsSpan(0, read));
                    remaining -= read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            var stored = BinaryPrimitives.ReadUInt32BigEndian(trailer.AsSpan(8));
            var computed = Crc32C.Finish(crc);
            return stored == computed ? null : $"checksum mismatch: stored 0x{stored:x8}, computed 0x{computed:x8}";
        }
        catch (IOException e)
        {
            return $"unreadable: {e.Message}";
        }
    }

    /// <summary>
    /// Keeps the newest <paramref name="retainCount"/> structurally valid snapshots (header and trailer checked, not the CRC,
    /// like ZooKeeper's findNValidSnapshots) and deletes every snapshot older than the oldest kept one.
    /// </summary>
    /// <param name="retainCount">zoo.cfg <c>autopurge.snapRetainCount</c>; at least <see cref="MinRetainCount"/>.</param>
    public SnapshotPurgeResult Purge(int retainCount)
    {
        if (retainCount < MinRetainCount)
        {
            ThrowHelper.ThrowArgumentOutOfRange("autopurge.snapRetainCount", retainCount, $"must be at least {MinRetainCount}");
        }

        var all = List();
        var kept = new List<SnapshotFileInfo>(retainCount);
        var header = new byte[HeaderBytes];
        var trailer = new byte[TrailerBytes];
        foreach (var snapshot in all)
        {
            if (kept.Count == retainCount)
            {
                break;
            }

            try
            {
                using var file = new FileStream(snapshot.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
                if (ReadStructure(file, snapshot, header, trailer) is null)
                {
                    kept.Add(snapshot);
                }
            }
            catch (IOException)
            {
                // Unreadable: not counted as retained.
            }
        }

        if (kept.Count == 0)
        {
            return new SnapshotPurgeResult([], null);
        }

        var oldestKept = kept[^1].Zxid;
        var deleted = new List<string>();
        foreach (var snapshot in all)
        {
            if (snapshot.Zxid < oldestKept)
            {
                File.Delete(snapshot.Path);
                deleted.Add(snapshot.Path);
                StorageLogEvents.SnapshotPurged(_logger, snapshot.Path);
            }
        }

        if (deleted.Count > 0)
        {
            DirectorySync.Fsync(Directory);
        }

        return new SnapshotPurgeResult(deleted, oldestKept);
    }

    private static async Task ReadBodyAsync(SnapshotFileInfo snapshot, Func<Stream, SnapshotFileInfo, CancellationToken, ValueTask> readBody, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(snapshot.Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, IoBufferBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
        file.Position = HeaderBytes;
        var body = new BoundedReadStream(file, snapshot.Length - HeaderBytes - TrailerBytes);
        await readBody(body, snapshot, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks length, header and trailer (not the CRC). Leaves the stream position undefined.</summary>
    private static string? ReadStructure(FileStream file, SnapshotFileInfo snapshot, byte[] header, byte[] trailer)
    {
        var length = file.Length;
        if (length < HeaderBytes + TrailerBytes)
        {
            return $"file is {length} bytes, shorter than header and trailer ({HeaderBytes + TrailerBytes})";
        }

        file.Position = 0;
        file.ReadExactly(header);
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != Magic)
        {
            return $"bad magic 0x{magic:x8} (expected 0x{Magic:x8} \"ZFSN\")";
        }

        var version = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        if (version != Version)
        {
            return $"unsupported snapshot version {version} (this build reads version {Version})";
        }

        var zxid = BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(8));
        if (zxid != snapshot.Zxid)
        {
            return $"header zxid {Zxid.Format(zxid)} differs from the file name's {Zxid.Format(snapshot.Zxid)}";
        }

        file.Position = length - TrailerBytes;
        file.ReadExactly(trailer);
        var endMagic = BinaryPrimitives.ReadUInt32BigEndian(trailer.AsSpan(12));
        if (endMagic != EndMagic)
        {
            return $"bad trailer magic 0x{endMagic:x8} (expected 0x{EndMagic:x8} \"ZFSE\"): the file is incomplete or damaged";
        }

        var bodyLength = BinaryPrimitives.ReadInt64BigEndian(trailer);
        if (bodyLength != length - HeaderBytes - TrailerBytes)
        {
            return $"trailer body length {bodyLength} does not match the file length {length} (expected {length - HeaderBytes - TrailerBytes})";
        }

        return null;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Removed at the next store creation.
        }
    }

    /// <summary>Write-only pass-through that counts bytes and feeds a CRC-32C register.</summary>
    private sealed class ChecksumWriteStream(Stream inner, uint crc) : Stream
    {
        private long _length;

        public uint Crc { get; private set; } = crc;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Crc = Crc32C.Update(Crc, buffer);
            _length += buffer.Length;
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Crc = Crc32C.Update(Crc, buffer.Span);
            _length += buffer.Length;
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
            // The store flushes and fsyncs the file itself once the body is complete.
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Read-only view of the next <c>length</c> bytes of a stream.</summary>
    private sealed class BoundedReadStream(Stream inner, long bodyLength) : Stream
    {
        private readonly long _length = bodyLength;
        private long _remaining = bodyLength;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position
        {
            get => _length - _remaining;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_remaining == 0)
            {
                return 0;
            }

            var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
            _remaining -= read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_remaining == 0)
            {
                return 0;
            }

            var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
            _remaining -= read;
            return read;
        }

        public override void Flush()
        {
        }

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
