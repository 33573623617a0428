using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Components.Sources.Files;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>
/// Writes the taildir position file (and its fingerprint file) after every committed batch, cheaply enough for that,
/// and durably at intervals.
/// </summary>
/// <remarks>
/// <para><see cref="Write"/> (after each commit) rewrites the file in place with one <c>pwrite</c> at offset 0, padded with
/// spaces to the previous length (JSON allows trailing whitespace, and Flume's reader stops at the closing bracket). The
/// file is in the page cache, so a <c>kill -9</c> of the agent loses nothing: at most the one batch committed between the
/// channel commit and this write is read again. A write of at most one page is never torn by a kill (the kernel copies a
/// page at a time and checks for a fatal signal only between pages); a longer one can be, if the kill lands inside the
/// system call: then the file does not parse and the reader falls back to the checkpoint copy.</para>
/// <para><see cref="Checkpoint"/> (every <c>writePosInterval</c> and at stop) writes <c>&lt;path&gt;.checkpoint</c> and then
/// the file itself durably: temporary file, fsync, rename, directory fsync. A power loss goes back at most one interval.</para>
/// <para>Not thread-safe: the source's loop is its only user.</para>
/// </remarks>
internal sealed class PositionFileWriter : IDisposable
{
    private readonly string _path;
    private readonly string _temporaryPath;
    private SafeFileHandle? _handle;
    private long _length;

    /// <summary>Creates a writer for <paramref name="path"/>.</summary>
    public PositionFileWriter(string path)
    {
        _path = path;
        _temporaryPath = path + ".tmp";
    }

    /// <summary>The copy written at every checkpoint, read when the file itself was torn.</summary>
    public static string CheckpointPath(string path) => path + ".checkpoint";

    /// <summary>The position file's path.</summary>
    public string Path => _path;

    /// <summary>Replaces the file's content with <paramref name="json"/> (not fsynced).</summary>
    public void Write(ReadOnlySpan<byte> json)
    {
        _handle ??= OpenInPlace();
        if (json.Length >= _length)
        {
            RandomAccess.Write(_handle, json, 0);
        }
        else
        {
            var padded = new byte[_length];
            json.CopyTo(padded);
            padded.AsSpan(json.Length).Fill((byte)' ');
            RandomAccess.Write(_handle, padded, 0);
        }
        _length = Math.Max(_length, json.Length);
    }

    /// <summary>Replaces the checkpoint copy and then the file with <paramref name="json"/> durably (temporary file,
    /// fsync, rename, directory fsync).</summary>
    public void Checkpoint(ReadOnlySpan<byte> json)
    {
        Replace(CheckpointPath(_path), json);
        Replace(_path, json);
        // The in-place handle refers to the replaced inode now.
        _handle?.Dispose();
        _handle = null;
        _length = json.Length;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }

    private SafeFileHandle OpenInPlace()
    {
        var handle = File.OpenHandle(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        _length = RandomAccess.GetLength(handle);
        return handle;
    }

    private void Replace(string path, ReadOnlySpan<byte> json)
    {
        using (var temporary = File.OpenHandle(_temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(temporary, json, 0);
            RandomAccess.FlushToDisk(temporary);
        }
        File.Move(_temporaryPath, path, overwrite: true);
        if (System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) is { Length: > 0 } directory)
        {
            FileStatus.FsyncDirectory(directory);
        }
    }
}
