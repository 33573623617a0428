using System.Globalization;
using System.Text;

namespace Zooflow.Storage;

/// <summary>
/// An exclusive lock on a data directory, held as long as this object is not disposed, so that two servers can never
/// write the same <c>dataDir</c> / <c>dataLogDir</c>.
/// </summary>
/// <remarks>
/// The lock is the file <c>zooflow.lock</c> opened with <see cref="FileShare.None"/>, which .NET maps to
/// <c>flock(LOCK_EX | LOCK_NB)</c> on Unix: the kernel drops it when the process dies (even by SIGKILL), so a stale lock
/// file never blocks a restart. The file holds the owner's PID for the error message. Advisory: it excludes other Zooflow
/// processes, not arbitrary programs, and is disabled if DOTNET_SYSTEM_IO_DISABLEFILELOCKING is set. Lock each distinct
/// directory once (when dataLogDir equals dataDir, lock it once).
/// </remarks>
public sealed class DataDirectoryLock : IDisposable
{
    /// <summary>The lock file's name inside the directory.</summary>
    public const string FileName = "zooflow.lock";

    private readonly FileStream _stream;

    private DataDirectoryLock(string path, FileStream stream)
    {
        FilePath = path;
        _stream = stream;
    }

    /// <summary>The lock file.</summary>
    public string FilePath { get; }

    /// <summary>Takes the lock on <paramref name="directory"/> (created if missing) or throws.</summary>
    /// <exception cref="DataDirectoryLockedException">Another process, or another lock in this process, holds it.</exception>
    public static DataDirectoryLock Acquire(string directory)
    {
        var full = Path.GetFullPath(directory);
        Directory.CreateDirectory(full);
        var path = Path.Combine(full, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (File.Exists(path))
        {
            var owner = TryReadOwner(path);
            throw new DataDirectoryLockedException(
                $"Data directory '{full}' is in use by another server{owner}: its lock file '{path}' is held ({e.Message}). " +
                "Stop the other server or point this one at a different dataDir/dataLogDir.", path, e);
        }

        try
        {
            var pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            stream.SetLength(0);
            stream.Write(pid);
            stream.Flush();
        }
        catch (IOException)
        {
            // The PID is informational only; the lock is what matters.
        }

        return new DataDirectoryLock(path, stream);
    }

    /// <summary>Releases the lock (the file stays; it is harmless when not locked).</summary>
    public void Dispose() => _stream.Dispose();

    private static string TryReadOwner(string path)
    {
        try
        {
            using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Span<byte> buffer = stackalloc byte[32];
            var read = reader.Read(buffer);
            var text = Encoding.ASCII.GetString(buffer[..read]).Trim();
            return text.Length > 0 ? $" (pid {text})" : string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
