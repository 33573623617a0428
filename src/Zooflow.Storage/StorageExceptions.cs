namespace Zooflow.Storage;

/// <summary>
/// An operating error of the storage layer (disk full, I/O error, unreadable or corrupt file). The message names the
/// file, the offset and the OS error; <see cref="Exception.InnerException"/> holds the original exception.
/// </summary>
public class StorageException : IOException
{
    /// <summary>Creates the exception.</summary>
    public StorageException(string message, string filePath, long offset, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
        Offset = offset;
        if (innerException is not null)
        {
            HResult = innerException.HResult;
        }
    }

    /// <summary>The file the failure concerns.</summary>
    public string FilePath { get; }

    /// <summary>The byte offset in <see cref="FilePath"/> where the failed operation started (0 when not applicable).</summary>
    public long Offset { get; }
}

/// <summary>
/// Appending to the transaction log failed: the records of the affected appends are NOT durable and were removed from
/// the file again. Later appends may succeed (for example once disk space returns).
/// </summary>
public sealed class TxnLogWriteException : StorageException
{
    /// <summary>Creates the exception.</summary>
    public TxnLogWriteException(string message, string filePath, long offset, long firstZxid, long lastZxid, Exception? innerException)
        : base(message, filePath, offset, innerException)
    {
        FirstZxid = firstZxid;
        LastZxid = lastZxid;
    }

    /// <summary>The first zxid of the failed batch.</summary>
    public long FirstZxid { get; }

    /// <summary>The last zxid of the failed batch.</summary>
    public long LastZxid { get; }
}

/// <summary>A checksum or structure check failed while reading a file that recovery had accepted.</summary>
public sealed class StorageCorruptionException : StorageException
{
    /// <summary>Creates the exception.</summary>
    public StorageCorruptionException(string message, string filePath, long offset)
        : base(message, filePath, offset)
    {
    }
}

/// <summary>Another process (or another open in this one) holds the data directory's lock file.</summary>
public sealed class DataDirectoryLockedException : StorageException
{
    /// <summary>Creates the exception.</summary>
    public DataDirectoryLockedException(string message, string filePath, Exception? innerException)
        : base(message, filePath, 0, innerException)
    {
    }
}
