using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Components.Sources.Files;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>
/// The state of one tailed file, identified by device and inode (never by name): an open descriptor (so a renamed or
/// deleted file is read to its end), the committed position, and two short fingerprints used to recognise a file
/// that was truncated and rewritten and to find its copy after a copytruncate rotation.
/// </summary>
/// <remarks>Owned by one <see cref="TaildirEventReader"/>; not thread-safe.</remarks>
internal sealed class TailedFile : IDisposable
{
    /// <summary>Length of <see cref="Guard"/> and <see cref="Head"/>: long enough that two different log files sharing
    /// them by chance is implausible (a timestamped log line is ~30 distinct bytes), short enough to check on every read
    /// in the same <c>pread</c> as the new data.</summary>
    public const int FingerprintBytes = 64;

    public TailedFile(FileKey key, string path, FileGroup group)
    {
        Key = key;
        Path = path;
        Group = group;
    }

    /// <summary>Device and inode.</summary>
    public FileKey Key { get; }

    /// <summary>The last path the file was seen under (renames within the pattern update it).</summary>
    public string Path { get; set; }

    /// <summary>The group whose pattern matched the file first (its headers apply).</summary>
    public FileGroup Group { get; set; }

    /// <summary>The open descriptor, or null while the file is closed for being idle.</summary>
    public SafeFileHandle? Handle { get; set; }

    /// <summary>Bytes whose lines were committed to the channels; the next read starts here (always a line start).</summary>
    public long Committed { get; set; }

    /// <summary>The <see cref="FingerprintBytes"/> (or fewer, near the start) bytes just before <see cref="Committed"/>,
    /// as they were read. If the file no longer holds them there, it was truncated and rewritten.</summary>
    public byte[] Guard { get; } = new byte[FingerprintBytes];

    /// <summary>Valid bytes in <see cref="Guard"/>.</summary>
    public int GuardLength { get; set; }

    /// <summary>The first bytes of the file (up to <see cref="FingerprintBytes"/>); a copy of the file starts with them.</summary>
    public byte[] Head { get; } = new byte[FingerprintBytes];

    /// <summary>Valid bytes in <see cref="Head"/>.</summary>
    public int HeadLength { get; set; }

    /// <summary>Size at the last observation.</summary>
    public long Size { get; set; }

    /// <summary>Size at the observation before the last one (what a truncation may have cut off).</summary>
    public long PreviousSize { get; set; }

    /// <summary>Modification time (ns) at the last observation.</summary>
    public long ModifiedNs { get; set; }

    /// <summary><see cref="TimeProvider"/> timestamp of the last observed change (size or mtime), for idleTimeout.</summary>
    public long LastChangeTimestamp { get; set; }

    /// <summary>Whether a file-group pattern matched the file in the latest scan. An unmatched file (renamed out of the
    /// pattern, deleted, or a copytruncate copy being drained) is read to its end and dropped once idle.</summary>
    public bool Matched { get; set; }

    /// <summary>Whether the file has no links left (deleted while open).</summary>
    public bool Deleted { get; set; }

    /// <summary>Created after the source started and nothing read from it yet: the moment to check whether it is a copy
    /// of a tailed file (copytruncate) before reading it from byte 0.</summary>
    public bool Fresh { get; set; }

    /// <summary>The file shrank before anything of it was read (its first bytes were seen): a truncation that the guard
    /// cannot show, because there is no guard before position 0.</summary>
    public bool ShrankUnread { get; set; }

    /// <summary>After a truncation the next read skips a run of NUL bytes at the start: a writer without O_APPEND keeps
    /// writing at its old offset and leaves a hole of zeros in front of its new lines.</summary>
    public bool SkipHole { get; set; }

    /// <summary>When set, this file is a suspected copy of that one (copytruncate in progress) and is not read until it
    /// is known which of its bytes were already read from the original.</summary>
    public TailedFile? CopyOf { get; set; }

    /// <summary>For a suspected copy: how many of its first bytes were compared equal to the original's.</summary>
    public long VerifiedLength { get; set; }

    /// <summary>Headers every event of this file gets (group headers and the file header); rebuilt when the path changes.</summary>
    public IReadOnlyDictionary<string, string>? BaseHeaders { get; set; }

    /// <summary>The path <see cref="BaseHeaders"/> was built for.</summary>
    public string? BaseHeadersPath { get; set; }

    /// <summary>Sets <see cref="Guard"/> to the last <see cref="FingerprintBytes"/> (or fewer) of <paramref name="bytes"/>,
    /// the bytes just before the committed position.</summary>
    public void SetGuard(ReadOnlySpan<byte> bytes)
    {
        var length = Math.Min(bytes.Length, FingerprintBytes);
        bytes[^length..].CopyTo(Guard);
        GuardLength = length;
    }

    /// <summary>Closes the descriptor (the file stays tracked).</summary>
    public void Close()
    {
        Handle?.Dispose();
        Handle = null;
    }

    /// <inheritdoc />
    public void Dispose() => Close();

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({Key}, pos {Committed})";
}
