using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Components.Sources.Files;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>
/// Writes the taildir position file after every committed batch, cheaply enough for that, and durably at intervals.
/// </summary>
/// <remarks>
/// <para><see cref="Write"/> (after each commit) rewrites the file in place with one <c>pwrite</c> at offset 0, padded with
/// spaces to the previous length (JSON allows trailing whitespace, and Flume's reader stops at the closing bracket). A
/// write of at most one page at offset 0 is never torn by the process being killed: the kernel copies a page at a time
/// and only checks for a fatal signal between pages. Content larger than a page is written to a temporary file and
/// renamed instead. Either way the file is in the page cache, so a <c>kill -9</c> of the agent loses nothing: at most the
/// one batch committed between the channel commit and this write is read again.</para>
/// <para><see cref="Checkpoint"/> (every <c>writePosInterval</c> and at stop) writes a temporary file, fsyncs it, renames
/// it over the position file and fsyncs the directory, so that a power loss goes back at most one interval.</para>
/// <para>Not thread-safe: the source's loop is its only user.</para>
/// </remarks>
internal sealed class PositionFileWriter : IDisposable
{
    private readonly string _path;
    private readonly string _temporaryPath;
    private SafeFileHandle? _handle;
    private long _length;

    private readonly bool _inPlaceAlways;

    /// <summary>Creates a writer for <paramref name="path"/>. With <paramref name="inPlaceAlways"/>, content larger than a
    /// page is written in place too (cheaper; a kill during the write can tear it between pages, so the file's reader
    /// must detect that, as the fingerprint file's per-entry checks do).</summary>
    public PositionFileWriter(string path, bool inPlaceAlways = false)
    {
        _path = path;
        _temporaryPath = path + ".tmp";
        _inPlaceAlways = inPlaceAlways;
    }

    /// <summary>The position file's path.</summary>
    public string Path => _path;

    /// <summary>Replaces the file's content with <paramref name="json"/> (not fsynced).</summary>
    public void Write(ReadOnlySpan<byte> json)
    {
        if (json.Length > Environment.SystemPageSize && !_inPlaceAlways)
        {
            Replace(json, fsync: false);
            return;
        }
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

    /// <summary>Replaces the file with <paramref name="json"/> durably (temporary file, fsync, rename, directory fsync).</summary>
    public void Checkpoint(ReadOnlySpan<byte> json) => Replace(json, fsync: true);

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

    private void Replace(ReadOnlySpan<byte> json, bool fsync)
    {
        using (var temporary = File.OpenHandle(_temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(temporary, json, 0);
            if (fsync)
            {
                RandomAccess.FlushToDisk(temporary);
            }
        }
        File.Move(_temporaryPath, _path, overwrite: true);
        if (fsync && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path)) is { Length: > 0 } directory)
        {
            FileStatus.FsyncDirectory(directory);
        }
        // The in-place handle refers to the replaced inode now.
        _handle?.Dispose();
        _handle = null;
        _length = json.Length;
    }
}
