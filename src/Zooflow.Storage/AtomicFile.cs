namespace Zooflow.Storage;

/// <summary>
/// Small files replaced atomically and durably (ZooKeeper's <c>AtomicFileOutputStream</c>, used for its
/// <c>acceptedEpoch</c> and <c>currentEpoch</c> files): write a temp file next to the target, fsync it, rename it over the
/// target, fsync the directory. After a crash the file holds either the old or the new content, never a mix.
/// </summary>
public static class AtomicFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="content"/>, durably.</summary>
    /// <exception cref="StorageException">An I/O error; the old file is left as it was.</exception>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        var temp = full + ".tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                file.Write(content);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
            DirectorySync.Fsync(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }

            if (e is StorageException)
            {
                throw;
            }

            throw new StorageException($"Writing '{full}' failed: {e.Message}", full, 0, e);
        }
    }
}
