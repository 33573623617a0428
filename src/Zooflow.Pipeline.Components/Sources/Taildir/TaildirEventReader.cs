using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Files;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>Settings of a <see cref="TaildirEventReader"/> (validated by <see cref="TaildirSource"/>).</summary>
/// <param name="SkipToEnd">Files found at start that have no position start at their end.</param>
/// <param name="ByteOffsetHeader">Add the <c>byteoffset</c> header (offset of the line's first byte).</param>
/// <param name="FileHeader">Add the file's absolute path under <paramref name="FileHeaderKey"/>.</param>
/// <param name="FileHeaderKey">Header name for the path.</param>
/// <param name="IdleTimeout">A file with no change for this long has its unterminated last line delivered and is closed.</param>
/// <param name="MaxLineLength">Longest event body in bytes; a longer line is delivered in pieces of this size.</param>
/// <param name="OwnFiles">The source's own state files (position file and companions), never tailed even when a pattern
/// matches them: tailing them would feed each commit back as new lines.</param>
internal sealed record TaildirReaderOptions(bool SkipToEnd, bool ByteOffsetHeader, bool FileHeader, string FileHeaderKey, TimeSpan IdleTimeout, int MaxLineLength,
    IReadOnlySet<string>? OwnFiles = null);

/// <summary>What <see cref="TaildirEventReader.ReadBatch"/> found.</summary>
internal enum ReadOutcome
{
    /// <summary>Zero or more complete lines were read (see the count).</summary>
    Lines,
    /// <summary>The file no longer holds the bytes before the position: it was truncated (and maybe rewritten).</summary>
    Truncated,
}

/// <summary>A batch read from one file and not yet committed.</summary>
/// <param name="Outcome">Lines or truncation.</param>
/// <param name="Count">Events added to the caller's list.</param>
/// <param name="End">The position after the last line of the batch.</param>
internal readonly record struct ReadBatchResult(ReadOutcome Outcome, int Count, long End);

/// <summary>
/// The file-tracking core of the taildir source (Flume's <c>ReliableTaildirEventReader</c> + <c>TailFile</c>), without
/// channels or timers: it scans the file groups, keeps one <see cref="TailedFile"/> per inode, reads batches of lines and
/// applies commits. <see cref="TaildirSource"/> drives it from one loop; it is not thread-safe.
/// </summary>
/// <remarks>
/// <para><b>Identity is the inode, never the name.</b> A file renamed within or out of the patterns keeps its position;
/// a new file created under a tailed name is a new inode read from byte 0. Files stay open by descriptor, so a file
/// renamed out of every pattern or deleted is still read to its end and then closed once idle.</para>
/// <para><b>Truncation.</b> Every read starts with the <see cref="TailedFile.FingerprintBytes"/> bytes before the
/// position (one <c>pread</c>); if they differ from what was read there, or the file is shorter than the position, the
/// file was truncated. The reader then looks in the file's directory for a copy that starts with the same bytes and holds
/// the same bytes before the position (what <c>copytruncate</c> leaves, under any name) and reads the rest of the lost
/// lines from it, then restarts the original at 0, skipping a hole of NUL bytes a writer without O_APPEND leaves.</para>
/// <para><b>Copies that match the pattern.</b> A new file whose first bytes equal a tailed file's first bytes is held
/// (not read) as a suspected copy until the original is truncated (the copy then supplies the bytes after the original's
/// position), or the original was read past the copy's end and the copy equals the original's prefix byte for byte
/// (covered: nothing is read from it), or it is shown not to be a copy (then it is read from 0).</para>
/// </remarks>
internal sealed class TaildirEventReader : IDisposable
{
    /// <summary>Read size: a batch of 1000 lines of 200 bytes fits, so a batch costs one pread.</summary>
    private const int InitialBufferBytes = 256 * 1024;

    private readonly IReadOnlyList<FileGroup> _groups;
    private readonly TaildirReaderOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly string _sourceName;
    private readonly Dictionary<FileKey, TailedFile> _files = [];
    private readonly List<LineRange> _lines = [];
    private readonly HashSet<string> _openFailures = new(StringComparer.Ordinal);
    private readonly byte[] _pendingGuard = new byte[TailedFile.FingerprintBytes];
    private byte[] _buffer = new byte[InitialBufferBytes];
    private int _pendingGuardLength;
    private bool _started;
    private bool _resumeAsFresh;

    // The bytes left in _buffer by the last ReadBatch, reused by the next batch of the same file in the same round.
    private TailedFile? _windowOwner;
    private long _windowStart;
    private int _windowValid;

    public TaildirEventReader(string sourceName, IReadOnlyList<FileGroup> groups, TaildirReaderOptions options, TimeProvider clock, ILogger logger)
    {
        _sourceName = sourceName;
        _groups = groups;
        _options = options;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Every tracked file.</summary>
    public IReadOnlyCollection<TailedFile> Files => _files.Values;

    /// <summary>Number of truncations detected (for tests and logs).</summary>
    public long Truncations { get; private set; }

    /// <summary>Number of copytruncate copies whose lines completed a truncated file.</summary>
    public long CopiesAdopted { get; private set; }

    /// <summary>
    /// The first scan: every matching file is tracked, at its entry in <paramref name="positions"/> (matched by inode;
    /// several entries with one inode prefer the one with the same path), else at 0 (or its end with skipToEnd). Entries
    /// whose inode no longer matches a pattern are looked up by inode in their directory: a file rotated away while the
    /// agent was stopped is read from its position to its end.
    /// </summary>
    public void Start(IReadOnlyList<TaildirPosition> positions, IReadOnlyList<TaildirFingerprint>? fingerprints = null)
    {
        var prints = new Dictionary<(long Inode, long Position), TaildirFingerprint>();
        foreach (var print in fingerprints ?? [])
        {
            prints[(print.Inode, print.Position)] = print;
        }
        _resumeAsFresh = positions.Count > 0 && !_options.SkipToEnd;
        var byInode = new Dictionary<long, List<TaildirPosition>>();
        foreach (var entry in positions)
        {
            if (!byInode.TryGetValue(entry.Inode, out var list))
            {
                byInode[entry.Inode] = list = [];
            }
            list.Add(entry);
        }
        var used = new HashSet<TaildirPosition>();
        var suspects = new List<TailedFile>();
        Scan(file => Resume(file, byInode, used, prints, suspects));
        _started = true;

        // Files that no longer hold what was read before their saved position were truncated (or replaced by a new
        // file reusing the inode) while the agent was stopped: a copy holding the rest is adopted, the file restarts at 0.
        foreach (var file in suspects)
        {
            _logger.LogWarning("Taildir source {Source}: {Path} ({Key}) no longer holds the bytes read before its saved position {Position}: truncated or replaced while stopped",
                _sourceName, file.Path, file.Key, file.Committed);
            HandleTruncation(file);
        }

        // Entries not matched by any pattern: look for the inode next to where it was (renamed while stopped).
        var lostByDirectory = positions.Where(p => !used.Contains(p) && System.IO.Path.GetDirectoryName(p.Path) is { Length: > 0 })
            .GroupBy(p => System.IO.Path.GetDirectoryName(p.Path)!);
        foreach (var directory in lostByDirectory)
        {
            var wanted = new Dictionary<long, TaildirPosition>();
            foreach (var entry in directory)
            {
                wanted.TryAdd(entry.Inode, entry);
            }
            foreach (var (path, status) in ListRegularFiles(directory.Key))
            {
                if (!wanted.Remove((long)status.Key.Inode, out var entry) || _files.ContainsKey(status.Key) || status.Size <= entry.Position)
                {
                    continue;
                }
                var file = TryOpen(path, FindGroup(entry.Path) ?? _groups[0], expected: status.Key);
                if (file is null)
                {
                    continue;
                }
                if (prints.TryGetValue((entry.Inode, entry.Position), out var print) && print.Guard.Length > 0
                    && !PrefixEquals(file.Handle!, entry.Position - print.Guard.Length, print.Guard))
                {
                    // The inode now belongs to another file: not the one that was read.
                    file.Dispose();
                    continue;
                }
                file.Matched = false;
                SetPosition(file, entry.Position);
                _files[file.Key] = file;
                _logger.LogInformation("Taildir source {Source}: {Path} ({Key}) was {OldPath} at position {Position}; reading its remaining {Bytes} bytes",
                    _sourceName, path, file.Key, entry.Path, entry.Position, status.Size - entry.Position);
            }
            foreach (var missing in wanted.Values)
            {
                _logger.LogInformation("Taildir source {Source}: position file entry {Path} (inode {Inode}, pos {Position}) matches no file any more; dropped",
                    _sourceName, missing.Path, missing.Inode, missing.Position);
            }
        }
    }

    /// <summary>Starts a round: the next read of every file goes to the file again (and checks its guard).</summary>
    public void BeginRound() => _windowOwner = null;

    /// <summary>Looks at the file groups again: new files are tracked, renamed ones get their new path, files no longer
    /// matched are marked so (and dropped if closed).</summary>
    public void Scan() => Scan(null);

    /// <summary>
    /// Refreshes each file's size (fstat of the open descriptor, or stat of the path for a closed one), reopens closed
    /// files that changed, and returns the files that may have lines to read, oldest modification first.
    /// </summary>
    public List<TailedFile> FilesToRead()
    {
        var result = new List<TailedFile>();
        var now = _clock.GetTimestamp();
        foreach (var file in _files.Values.ToList())
        {
            if (file.CopyOf is not null)
            {
                continue;
            }
            FileStatus status;
            try
            {
                if (file.Handle is null)
                {
                    var byPath = FileStatus.TryGet(file.Path);
                    if (byPath is null || byPath.Value.Key != file.Key)
                    {
                        if (!file.Matched)
                        {
                            Forget(file, "closed and gone");
                        }
                        continue;
                    }
                    status = byPath.Value;
                    if (status.Size == file.Committed && status.ModifiedNs == file.ModifiedNs)
                    {
                        continue;
                    }
                    if (!Reopen(file))
                    {
                        continue;
                    }
                }
                else
                {
                    status = FileStatus.Get(file.Handle, file.Path);
                }
            }
            catch (IOException ex)
            {
                _logger.LogWarning("Taildir source {Source}: cannot stat {Path}: {Error}", _sourceName, file.Path, ex.Message);
                continue;
            }
            var changed = status.Size != file.Size || status.ModifiedNs != file.ModifiedNs;
            if (changed)
            {
                file.LastChangeTimestamp = now;
            }
            if (status.Size < file.Size && file.Committed == 0 && file.HeadLength > 0)
            {
                file.ShrankUnread = true;
            }
            file.PreviousSize = file.Size;
            file.Size = status.Size;
            file.ModifiedNs = status.ModifiedNs;
            file.Deleted = status.Links == 0;
            if (file.HeadLength < TailedFile.FingerprintBytes && status.Size > file.HeadLength)
            {
                ExtendHead(file, status.Size);
            }
            // A changed mtime at an unchanged size is read too: the read's guard check shows a truncate + rewrite.
            if (status.Size != file.Committed || file.ShrankUnread || (changed && file.Committed > 0))
            {
                result.Add(file);
            }
        }
        result.Sort(static (a, b) => a.ModifiedNs.CompareTo(b.ModifiedNs));
        return result;
    }

    /// <summary>Reads more of the file's first bytes, but only if the file still starts with what is known of them: a
    /// truncated and rewritten file keeps its old head until the truncation is handled (the copy is found by it).</summary>
    private static void ExtendHead(TailedFile file, long size)
    {
        Span<byte> head = stackalloc byte[TailedFile.FingerprintBytes];
        var read = ReadAt(file.Handle!, 0, head[..(int)Math.Min(TailedFile.FingerprintBytes, size)]);
        if (read > file.HeadLength && head[..file.HeadLength].SequenceEqual(file.Head.AsSpan(0, file.HeadLength)))
        {
            head[..read].CopyTo(file.Head);
            file.HeadLength = read;
        }
    }

    /// <summary>
    /// Before the first read of a file created after start: if it starts like another tailed file in the same directory
    /// it is put on hold as a suspected copy and false is returned (do not read it now).
    /// </summary>
    public bool CheckFresh(TailedFile file)
    {
        if (!file.Fresh)
        {
            return true;
        }
        if (file.Size == 0 || file.HeadLength == 0)
        {
            return true; // nothing to compare yet; stays fresh
        }
        file.Fresh = false;
        var directory = System.IO.Path.GetDirectoryName(file.Path);
        foreach (var original in _files.Values)
        {
            if (ReferenceEquals(original, file) || original.CopyOf is not null || original.Committed == 0 || original.HeadLength == 0
                || System.IO.Path.GetDirectoryName(original.Path) != directory)
            {
                continue;
            }
            var compared = Math.Min(file.HeadLength, original.HeadLength);
            if (file.Head.AsSpan(0, compared).SequenceEqual(original.Head.AsSpan(0, compared)))
            {
                file.CopyOf = original;
                file.VerifiedLength = 0;
                _logger.LogInformation("Taildir source {Source}: {Path} ({Key}) starts like {Original} ({OriginalKey}, pos {Position}); holding it as a possible copy (copytruncate) until that is settled",
                    _sourceName, file.Path, file.Key, original.Path, original.Key, original.Committed);
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Reads up to <paramref name="maxEvents"/> lines of <paramref name="file"/> from its committed position into
    /// <paramref name="events"/> (nothing is committed). Only complete lines are read unless
    /// <paramref name="includePartial"/> (the idle close), which also delivers an unterminated last line, as Flume does.
    /// </summary>
    public ReadBatchResult ReadBatch(TailedFile file, List<Event> events, int maxEvents, bool includePartial)
    {
        var handle = file.Handle ?? throw new InvalidOperationException($"{file.Path} is not open");
        if (file.ShrankUnread)
        {
            file.ShrankUnread = false;
            _windowOwner = null;
            return new ReadBatchResult(ReadOutcome.Truncated, 0, file.Committed);
        }
        long bufferStart;
        int valid;
        int scan;
        bool eof;
        if (ReferenceEquals(_windowOwner, file) && file.Committed >= _windowStart && file.Committed < _windowStart + _windowValid)
        {
            // The next batch of the same file in the same round: its bytes were read with the previous batch (whose
            // pread checked the guard). A truncation since then is found by the next round's first read.
            bufferStart = _windowStart;
            valid = _windowValid;
            scan = (int)(file.Committed - _windowStart);
            eof = false;
        }
        else
        {
            var guardLength = file.GuardLength;
            bufferStart = file.Committed - guardLength;
            valid = Fill(handle, bufferStart, 0, out eof);
            if (guardLength > 0 && (valid < guardLength || !_buffer.AsSpan(0, guardLength).SequenceEqual(file.Guard.AsSpan(0, guardLength))))
            {
                _windowOwner = null;
                return new ReadBatchResult(ReadOutcome.Truncated, 0, file.Committed);
            }
            if (guardLength == 0 && file.Committed > 0 && valid == 0)
            {
                _windowOwner = null;
                return new ReadBatchResult(ReadOutcome.Truncated, 0, file.Committed);
            }
            scan = guardLength;
        }
        var count = 0;
        var firstEvent = events.Count;
        _lines.Clear();
        if (file.SkipHole)
        {
            while (true)
            {
                var nonZero = _buffer.AsSpan(scan, valid - scan).IndexOfAnyExcept((byte)0);
                if (nonZero >= 0)
                {
                    scan += nonZero;
                    file.SkipHole = false;
                    break;
                }
                if (eof)
                {
                    // All zeros so far: step over them (committed without events) and look again later.
                    _windowOwner = null;
                    var holeEnd = bufferStart + valid;
                    _pendingGuardLength = (int)Math.Min(TailedFile.FingerprintBytes, holeEnd);
                    _pendingGuard.AsSpan().Clear();
                    return new ReadBatchResult(ReadOutcome.Lines, 0, holeEnd);
                }
                bufferStart += valid;
                scan = 0;
                valid = Fill(handle, bufferStart, 0, out eof);
            }
        }
        while (count < maxEvents)
        {
            var remaining = _buffer.AsSpan(scan, valid - scan);
            var newline = remaining.IndexOf((byte)'\n');
            if (newline >= 0 && newline <= _options.MaxLineLength)
            {
                var length = newline > 0 && remaining[newline - 1] == (byte)'\r' ? newline - 1 : newline;
                _lines.Add(new LineRange(scan, length, bufferStart + scan));
                scan += newline + 1;
                count++;
                continue;
            }
            if (remaining.Length > _options.MaxLineLength)
            {
                // A line longer than maxLineLength: deliver it in pieces rather than buffer without bound.
                _lines.Add(new LineRange(scan, _options.MaxLineLength, bufferStart + scan));
                scan += _options.MaxLineLength;
                count++;
                _logger.LogWarning("Taildir source {Source}: a line in {Path} at byte {Offset} is longer than maxLineLength ({Max} bytes); delivered in pieces",
                    _sourceName, file.Path, bufferStart + scan - _options.MaxLineLength, _options.MaxLineLength);
                continue;
            }
            if (!eof)
            {
                // Keep the partial line, move it to the front and read more.
                Materialize(file, events);
                var partial = valid - scan;
                if (scan > 0)
                {
                    Buffer.BlockCopy(_buffer, scan, _buffer, 0, partial);
                    bufferStart += scan;
                    scan = 0;
                }
                if (partial == _buffer.Length)
                {
                    Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, (long)_options.MaxLineLength + TailedFile.FingerprintBytes + 1));
                }
                valid = partial + Fill(handle, bufferStart + partial, partial, out eof);
                continue;
            }
            if (remaining.Length > 0 && includePartial)
            {
                _lines.Add(new LineRange(scan, remaining.Length, bufferStart + scan));
                scan = valid;
                count++;
            }
            break;
        }
        Materialize(file, events);
        _windowOwner = file;
        _windowStart = bufferStart;
        _windowValid = valid;
        var end = bufferStart + scan;
        if (end > file.Committed)
        {
            _pendingGuardLength = (int)Math.Min(TailedFile.FingerprintBytes, end);
            if (scan >= _pendingGuardLength)
            {
                _buffer.AsSpan(scan - _pendingGuardLength, _pendingGuardLength).CopyTo(_pendingGuard);
            }
            else
            {
                ReadAt(handle, end - _pendingGuardLength, _pendingGuard.AsSpan(0, _pendingGuardLength));
            }
        }
        return new ReadBatchResult(ReadOutcome.Lines, events.Count - firstEvent, end);
    }

    /// <summary>Records that the batch read last from <paramref name="file"/> was committed to the channels.</summary>
    public void Commit(TailedFile file, ReadBatchResult batch)
    {
        if (batch.End <= file.Committed)
        {
            return;
        }
        file.Committed = batch.End;
        file.SetGuard(_pendingGuard.AsSpan(0, _pendingGuardLength));
        file.Fresh = false;
    }

    /// <summary>
    /// Handles a truncation of <paramref name="file"/> found by <see cref="ReadBatch"/>: finds the copy holding the lines
    /// after the committed position (a held suspected copy, or any file in the same directory) and tracks it from that
    /// position, then restarts the file at 0.
    /// </summary>
    public void HandleTruncation(TailedFile file)
    {
        Truncations++;
        _windowOwner = null;
        var position = file.Committed;
        // The size seen before this round: the current one may already be the rewritten file's.
        var lastSize = file.PreviousSize;
        TailedFile? copy = null;
        foreach (var held in _files.Values.Where(f => ReferenceEquals(f.CopyOf, file)).ToList())
        {
            var size = SizeOf(held);
            if (copy is null && size >= position && IsCopyAt(held.Handle!, size, file, position))
            {
                copy = held;
                held.CopyOf = null;
                held.Size = size;
                SetPosition(held, position, file);
            }
            else if (size <= position && held.VerifiedLength >= size)
            {
                // A copy taken before our position: every line in it was read from the original already.
                held.CopyOf = null;
                SetPosition(held, size);
            }
            else
            {
                Release(held, "it does not hold the original's bytes before the truncation point");
            }
        }
        if (copy is null && (position > 0 || file.HeadLength > 0))
        {
            copy = FindCopyInDirectory(file, position);
        }
        if (copy is not null)
        {
            CopiesAdopted++;
            _logger.LogInformation("Taildir source {Source}: {Path} was truncated at position {Position} (copytruncate); reading the rest of its lines from the copy {Copy} ({Bytes} bytes)",
                _sourceName, file.Path, position, copy.Path, copy.Size - position);
        }
        else if (lastSize > position)
        {
            _logger.LogWarning("Taildir source {Source}: {Path} was truncated with {Bytes} bytes after position {Position} not yet read, and no copy holding them was found in its directory; those lines are lost",
                _sourceName, file.Path, lastSize - position, position);
        }
        else
        {
            _logger.LogInformation("Taildir source {Source}: {Path} was truncated after position {Position}; reading it again from the start",
                _sourceName, file.Path, position);
        }
        file.Committed = 0;
        file.GuardLength = 0;
        file.HeadLength = 0;
        file.SkipHole = true;
        file.Fresh = false;
        file.Size = SizeOf(file);
        if (file.Size > 0)
        {
            file.HeadLength = ReadAt(file.Handle!, 0, file.Head.AsSpan(0, (int)Math.Min(TailedFile.FingerprintBytes, file.Size)));
        }
    }

    /// <summary>
    /// Settles suspected copies: each round the bytes a copy shares with what was read of its original are compared
    /// (incrementally). A difference releases it (read from 0); a copy no larger than what was read of the original, that
    /// stopped growing, is covered (nothing read from it); a copy larger than the original is not a copy.
    /// </summary>
    public void SettleHeldCopies()
    {
        foreach (var held in _files.Values.Where(f => f.CopyOf is not null).ToList())
        {
            var original = held.CopyOf!;
            if (!_files.ContainsKey(original.Key))
            {
                Release(held, $"its original {original.Path} is no longer tailed");
                continue;
            }
            long size;
            try
            {
                size = FileStatus.Get(held.Handle!, held.Path).Size;
            }
            catch (IOException ex)
            {
                Release(held, ex.Message);
                continue;
            }
            var grew = size != held.Size;
            held.Size = size;
            if (original.Handle is null)
            {
                continue; // closed while idle: compared once it is open again
            }
            if (LooksTruncated(original))
            {
                // Compare with what was read, not with the original's new content: the truncation adopts the copy.
                HandleTruncation(original);
                continue;
            }
            var verifyTo = Math.Min(size, original.Committed);
            if (verifyTo > held.VerifiedLength)
            {
                if (!RangesEqual(held.Handle!, original.Handle, held.VerifiedLength, verifyTo))
                {
                    // The original may have been truncated between the check above and this comparison (copytruncate
                    // finishing while we compare): that is the copy being confirmed, not a difference.
                    if (LooksTruncated(original))
                    {
                        HandleTruncation(original);
                    }
                    else
                    {
                        Release(held, "its bytes differ from the original's");
                    }
                    continue;
                }
                held.VerifiedLength = verifyTo;
            }
            if (size > original.Size && original.Size >= original.Committed)
            {
                Release(held, "it is larger than the original");
            }
            else if (!grew && size <= original.Committed)
            {
                held.CopyOf = null;
                SetPosition(held, size);
                _logger.LogInformation("Taildir source {Source}: {Path} is a copy of the first {Bytes} bytes of {Original}, already read from the original; only what is appended to it will be read",
                    _sourceName, held.Path, size, original.Path);
            }
        }
    }

    /// <summary>Files with no change for idleTimeout that are still open (to be drained including a partial line, then closed).</summary>
    public List<TailedFile> IdleFiles()
    {
        var now = _clock.GetTimestamp();
        var idle = new List<TailedFile>();
        foreach (var file in _files.Values)
        {
            if (file.Handle is not null && file.CopyOf is null && _clock.GetElapsedTime(file.LastChangeTimestamp, now) >= _options.IdleTimeout)
            {
                idle.Add(file);
            }
        }
        return idle;
    }

    /// <summary>Closes an idle file; a file no pattern matches any more (or deleted) is dropped.</summary>
    public void CloseIdle(TailedFile file)
    {
        file.Close();
        if (!file.Matched || file.Deleted)
        {
            Forget(file, file.Deleted ? "deleted and idle" : "no longer matched and idle");
        }
        else
        {
            _logger.LogInformation("Taildir source {Source}: closed idle file {Path} ({Key}) at position {Position}", _sourceName, file.Path, file.Key, file.Committed);
        }
    }

    /// <summary>The entries to write to the position file: every tracked file that is not deleted or a held copy.</summary>
    public List<TaildirPosition> Positions()
    {
        var positions = new List<TaildirPosition>(_files.Count);
        foreach (var file in _files.Values)
        {
            if (!file.Deleted && file.CopyOf is null)
            {
                positions.Add(new TaildirPosition((long)file.Key.Inode, file.Committed, file.Path));
            }
        }
        positions.Sort(static (a, b) => string.CompareOrdinal(a.Path, b.Path));
        return positions;
    }

    /// <summary>The fingerprints of the entries of <see cref="Positions"/> (written beside the position file).</summary>
    public List<TaildirFingerprint> Fingerprints()
    {
        var prints = new List<TaildirFingerprint>(_files.Count);
        foreach (var file in _files.Values)
        {
            if (!file.Deleted && file.CopyOf is null)
            {
                prints.Add(new TaildirFingerprint((long)file.Key.Inode, file.Committed, file.Head.AsSpan(0, file.HeadLength).ToArray(), file.Guard.AsSpan(0, file.GuardLength).ToArray()));
            }
        }
        prints.Sort(static (a, b) => a.Inode.CompareTo(b.Inode));
        return prints;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var file in _files.Values)
        {
            file.Dispose();
        }
        _files.Clear();
    }

    private void Scan(Func<TailedFile, bool>? resume)
    {
        var seen = new HashSet<FileKey>();
        var nowNs = (_clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        foreach (var group in _groups)
        {
            IReadOnlyList<string> paths;
            try
            {
                paths = group.List(nowNs);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning("Taildir source {Source}: cannot list {Directory} (file group {Group}): {Error}", _sourceName, group.Directory, group.Name, ex.Message);
                continue;
            }
            // An unchanged directory maps its names to the same inodes as last time: no stat per file (open files are
            // looked at through their descriptors in FilesToRead).
            var cached = !group.LastListingFresh ? group.Keys : null;
            var keys = cached is null ? new Dictionary<string, FileKey>(StringComparer.Ordinal) : null;
            foreach (var path in paths)
            {
                if (_options.OwnFiles?.Contains(path) == true)
                {
                    continue;
                }
                if (cached is not null && cached.TryGetValue(path, out var cachedKey) && _files.TryGetValue(cachedKey, out var same) && same.Path == path)
                {
                    if (seen.Add(cachedKey))
                    {
                        same.Matched = true;
                    }
                    continue;
                }
                FileStatus? status;
                try
                {
                    status = FileStatus.TryGet(path);
                }
                catch (IOException ex)
                {
                    _logger.LogWarning("Taildir source {Source}: cannot stat {Path}: {Error}", _sourceName, path, ex.Message);
                    continue;
                }
                if (status is not { IsRegularFile: true } st)
                {
                    continue;
                }
                if (keys is not null)
                {
                    keys[path] = st.Key;
                }
                if (!seen.Add(st.Key))
                {
                    continue;
                }
                if (_files.TryGetValue(st.Key, out var known))
                {
                    if (known.Path != path)
                    {
                        _logger.LogInformation("Taildir source {Source}: {OldPath} was renamed to {Path} ({Key}); continuing at position {Position}",
                            _sourceName, known.Path, path, known.Key, known.Committed);
                        known.Path = path;
                    }
                    known.Matched = true;
                    continue;
                }
                var file = TryOpen(path, group, expected: null);
                if (file is null)
                {
                    continue;
                }
                if (!seen.Contains(file.Key))
                {
                    // The path was replaced between stat and open: track what was opened.
                    seen.Add(file.Key);
                    if (keys is not null)
                    {
                        keys[path] = file.Key;
                    }
                }
                if (_files.TryGetValue(file.Key, out var already))
                {
                    file.Dispose();
                    already.Matched = true;
                    continue;
                }
                file.Matched = true;
                if (resume is null || !resume(file))
                {
                    var start = _started || !_options.SkipToEnd ? 0 : file.Size;
                    SetPosition(file, start);
                    // New since the source last ran (or since start): may be a copy of a tailed file.
                    file.Fresh = _started || _resumeAsFresh;
                    _logger.LogInformation("Taildir source {Source}: tailing {Path} ({Key}) from position {Position}", _sourceName, path, file.Key, start);
                }
                _files[file.Key] = file;
            }
            if (keys is not null)
            {
                group.Keys = keys;
            }
        }
        foreach (var file in _files.Values.ToList())
        {
            if (seen.Contains(file.Key))
            {
                continue;
            }
            if (file.Matched)
            {
                _logger.LogInformation("Taildir source {Source}: {Path} ({Key}) no longer matches a file group (renamed or deleted); reading it to its end",
                    _sourceName, file.Path, file.Key);
            }
            file.Matched = false;
            if (file.Handle is null && file.CopyOf is null)
            {
                Forget(file, "closed and no longer matched");
            }
        }
    }

    private bool Resume(TailedFile file, Dictionary<long, List<TaildirPosition>> byInode, HashSet<TaildirPosition> used,
        Dictionary<(long, long), TaildirFingerprint> prints, List<TailedFile> suspects)
    {
        if (!byInode.TryGetValue((long)file.Key.Inode, out var candidates))
        {
            return false;
        }
        var entry = candidates.FirstOrDefault(c => c.Path == file.Path && !used.Contains(c));
        if (entry.Path is null)
        {
            entry = candidates.FirstOrDefault(c => !used.Contains(c));
        }
        if (entry.Path is null)
        {
            return false;
        }
        used.Add(entry);
        if (prints.TryGetValue(((long)file.Key.Inode, entry.Position), out var print))
        {
            // What was read is known: check the file against it rather than trusting the inode.
            file.Committed = entry.Position;
            file.Fresh = false;
            file.SetGuard(print.Guard);
            var headHolds = file.Head.AsSpan(0, file.HeadLength).StartsWith(print.Head);
            file.HeadLength = Math.Min(print.Head.Length, TailedFile.FingerprintBytes);
            print.Head.AsSpan(0, file.HeadLength).CopyTo(file.Head);
            if (entry.Position > file.Size || !headHolds || (print.Guard.Length > 0 && !PrefixEquals(file.Handle!, entry.Position - print.Guard.Length, print.Guard)))
            {
                suspects.Add(file);
            }
            else
            {
                _logger.LogInformation("Taildir source {Source}: resuming {Path} ({Key}) at position {Position}{Renamed}", _sourceName, file.Path, file.Key, entry.Position,
                    entry.Path == file.Path ? "" : $" (was {entry.Path})");
            }
            return true;
        }
        if (entry.Position > file.Size)
        {
            _logger.LogWarning("Taildir source {Source}: {Path} is shorter ({Size} bytes) than its saved position {Position}: truncated while stopped; reading it from the start",
                _sourceName, file.Path, file.Size, entry.Position);
            SetPosition(file, 0);
            file.SkipHole = true;
            return true;
        }
        SetPosition(file, entry.Position);
        _logger.LogInformation("Taildir source {Source}: resuming {Path} ({Key}) at position {Position}{Renamed}", _sourceName, file.Path, file.Key, entry.Position,
            entry.Path == file.Path ? "" : $" (was {entry.Path})");
        return true;
    }

    /// <summary>Sets the committed position and reads the guard bytes before it from the file (trusted as read).</summary>
    private void SetPosition(TailedFile file, long position, TailedFile? guardFrom = null)
    {
        file.Committed = position;
        file.Fresh = false;
        if (guardFrom is not null)
        {
            file.SetGuard(guardFrom.Guard.AsSpan(0, guardFrom.GuardLength));
            return;
        }
        var length = (int)Math.Min(TailedFile.FingerprintBytes, position);
        file.GuardLength = length == 0 || file.Handle is null ? 0 : ReadAt(file.Handle, position - length, file.Guard.AsSpan(0, length));
    }

    private TailedFile? TryOpen(string path, FileGroup group, FileKey? expected)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Tried again at every scan (permissions may be fixed); said once per path.
            if (_openFailures.Add(path))
            {
                _logger.LogWarning("Taildir source {Source}: cannot open {Path}: {Error}; it is tried again at every scan", _sourceName, path, ex.Message);
            }
            return null;
        }
        if (_openFailures.Remove(path))
        {
            _logger.LogInformation("Taildir source {Source}: {Path} can be opened now", _sourceName, path);
        }
        try
        {
            var status = FileStatus.Get(handle, path);
            if (expected is { } key && status.Key != key)
            {
                handle.Dispose();
                return null;
            }
            var file = new TailedFile(status.Key, path, group)
            {
                Handle = handle,
                Size = status.Size,
                ModifiedNs = status.ModifiedNs,
                Deleted = status.Links == 0,
                LastChangeTimestamp = _clock.GetTimestamp(),
            };
            if (status.Size > 0)
            {
                file.HeadLength = ReadAt(handle, 0, file.Head.AsSpan(0, (int)Math.Min(TailedFile.FingerprintBytes, status.Size)));
            }
            return file;
        }
        catch (IOException ex)
        {
            handle.Dispose();
            _logger.LogWarning("Taildir source {Source}: cannot read {Path}: {Error}", _sourceName, path, ex.Message);
            return null;
        }
    }

    private bool Reopen(TailedFile file)
    {
        try
        {
            var handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (FileStatus.Get(handle, file.Path).Key != file.Key)
            {
                handle.Dispose();
                return false;
            }
            file.Handle = handle;
            _logger.LogInformation("Taildir source {Source}: reopened {Path} ({Key}) at position {Position}", _sourceName, file.Path, file.Key, file.Committed);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Taildir source {Source}: cannot reopen {Path}: {Error}", _sourceName, file.Path, ex.Message);
            return false;
        }
    }

    private void Release(TailedFile held, string reason)
    {
        _logger.LogInformation("Taildir source {Source}: {Path} ({Key}) is not a copy of {Original} ({OriginalKey}, pos {Position}): {Reason}; reading it from the start",
            _sourceName, held.Path, held.Key, held.CopyOf?.Path, held.CopyOf?.Key, held.CopyOf?.Committed, reason);
        held.CopyOf = null;
        SetPosition(held, 0);
    }

    private void Forget(TailedFile file, string reason)
    {
        _logger.LogInformation("Taildir source {Source}: stopped tracking {Path} ({Key}) at position {Position}: {Reason}", _sourceName, file.Path, file.Key, file.Committed, reason);
        file.Dispose();
        _files.Remove(file.Key);
        foreach (var held in _files.Values)
        {
            if (ReferenceEquals(held.CopyOf, file))
            {
                Release(held, $"its original {file.Path} is no longer tailed");
            }
        }
    }

    private TailedFile? FindCopyInDirectory(TailedFile original, long position)
    {
        var directory = System.IO.Path.GetDirectoryName(original.Path);
        if (string.IsNullOrEmpty(directory))
        {
            return null;
        }
        foreach (var (path, status) in ListRegularFiles(directory).OrderByDescending(f => f.Status.ModifiedNs))
        {
            if (status.Key == original.Key || status.Size < position)
            {
                continue;
            }
            if (_files.TryGetValue(status.Key, out var tracked))
            {
                // A file already tracked is a candidate only if nothing was read from it yet (scanned this round).
                if (!tracked.Fresh || tracked.CopyOf is not null || tracked.Handle is null || !IsCopyAt(tracked.Handle, status.Size, original, position))
                {
                    continue;
                }
                tracked.Size = status.Size;
                SetPosition(tracked, position, original);
                return tracked;
            }
            var candidate = TryOpen(path, original.Group, status.Key);
            if (candidate is null)
            {
                continue;
            }
            if (!IsCopyAt(candidate.Handle!, candidate.Size, original, position))
            {
                candidate.Dispose();
                continue;
            }
            candidate.Matched = false;
            SetPosition(candidate, position, original);
            _files[candidate.Key] = candidate;
            return candidate;
        }
        return null;
    }

    /// <summary>Whether an open file no longer holds its guard bytes before the committed position.</summary>
    private static bool LooksTruncated(TailedFile file)
    {
        if (file.Handle is null || file.Committed == 0)
        {
            return false;
        }
        try
        {
            return FileStatus.Get(file.Handle, file.Path).Size < file.Committed
                || !PrefixEquals(file.Handle, file.Committed - file.GuardLength, file.Guard.AsSpan(0, file.GuardLength));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Whether the file behind <paramref name="handle"/> starts with the original's head and holds the original's
    /// guard bytes just before <paramref name="position"/>.</summary>
    private static bool IsCopyAt(SafeFileHandle handle, long size, TailedFile original, long position)
    {
        if (size < position || original.HeadLength == 0)
        {
            return false;
        }
        return PrefixEquals(handle, 0, original.Head.AsSpan(0, original.HeadLength))
            && PrefixEquals(handle, position - original.GuardLength, original.Guard.AsSpan(0, original.GuardLength));
    }

    private static bool PrefixEquals(SafeFileHandle handle, long offset, ReadOnlySpan<byte> expected)
    {
        if (expected.IsEmpty)
        {
            return true;
        }
        Span<byte> actual = stackalloc byte[TailedFile.FingerprintBytes];
        var read = ReadAt(handle, offset, actual[..expected.Length]);
        return read == expected.Length && actual[..read].SequenceEqual(expected);
    }

    private static bool RangesEqual(SafeFileHandle a, SafeFileHandle b, long from, long to)
    {
        var left = new byte[64 * 1024];
        var right = new byte[64 * 1024];
        for (var offset = from; offset < to;)
        {
            var want = (int)Math.Min(left.Length, to - offset);
            var readLeft = ReadAt(a, offset, left.AsSpan(0, want));
            var readRight = ReadAt(b, offset, right.AsSpan(0, want));
            if (readLeft != want || readRight != want || !left.AsSpan(0, want).SequenceEqual(right.AsSpan(0, want)))
            {
                return false;
            }
            offset += want;
        }
        return true;
    }

    private static long SizeOf(TailedFile file)
    {
        try
        {
            return file.Handle is null ? 0 : FileStatus.Get(file.Handle, file.Path).Size;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private FileGroup? FindGroup(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(path);
        var name = System.IO.Path.GetFileName(path);
        return _groups.FirstOrDefault(g => g.Directory == directory && g.Pattern.IsMatch(name));
    }

    private IEnumerable<(string Path, FileStatus Status)> ListRegularFiles(string directory)
    {
        var result = new List<(string, FileStatus)>();
        try
        {
            foreach (var path in Directory.EnumerateFiles(directory))
            {
                try
                {
                    if (FileStatus.TryGet(path) is { IsRegularFile: true } status)
                    {
                        result.Add((path, status));
                    }
                }
                catch (IOException)
                {
                    // Vanished or unreadable: not a candidate.
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Taildir source {Source}: cannot list {Directory}: {Error}", _sourceName, directory, ex.Message);
        }
        return result;
    }

    /// <summary>Creates the events for the lines collected in <see cref="_lines"/> (one array for their bodies).</summary>
    private void Materialize(TailedFile file, List<Event> events)
    {
        if (_lines.Count == 0)
        {
            return;
        }
        var total = 0;
        foreach (var line in _lines)
        {
            total += line.Length;
        }
        var block = total == 0 ? [] : new byte[total];
        var headers = BaseHeaders(file);
        var at = 0;
        foreach (var line in _lines)
        {
            _buffer.AsSpan(line.Start, line.Length).CopyTo(block.AsSpan(at));
            var body = new ReadOnlyMemory<byte>(block, at, line.Length);
            at += line.Length;
            if (_options.ByteOffsetHeader)
            {
                var withOffset = new Dictionary<string, string>(headers, StringComparer.Ordinal)
                {
                    ["byteoffset"] = line.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                events.Add(new Event(body, withOffset));
            }
            else
            {
                events.Add(new Event(body, headers.Count == 0 ? null : headers));
            }
        }
        _lines.Clear();
    }

    private IReadOnlyDictionary<string, string> BaseHeaders(TailedFile file)
    {
        if (file.BaseHeaders is { } cached && (!_options.FileHeader || file.BaseHeadersPath == file.Path))
        {
            return cached;
        }
        var headers = new Dictionary<string, string>(file.Group.Headers, StringComparer.Ordinal);
        if (_options.FileHeader)
        {
            headers[_options.FileHeaderKey] = file.Path;
        }
        file.BaseHeaders = headers;
        file.BaseHeadersPath = file.Path;
        return headers;
    }

    /// <summary>Reads into <see cref="_buffer"/> from index <paramref name="at"/> at file offset
    /// <paramref name="offset"/> until the buffer is full or the file ends.</summary>
    private int Fill(SafeFileHandle handle, long offset, int at, out bool eof)
    {
        var total = 0;
        while (at + total < _buffer.Length)
        {
            var read = RandomAccess.Read(handle, _buffer.AsSpan(at + total), offset + total);
            if (read == 0)
            {
                eof = true;
                return total;
            }
            total += read;
        }
        eof = false;
        return total;
    }

    private static int ReadAt(SafeFileHandle handle, long offset, Span<byte> into)
    {
        var total = 0;
        while (total < into.Length)
        {
            var read = RandomAccess.Read(handle, into[total..], offset + total);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct LineRange(int Start, int Length, long Offset);
}
