using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Zooflow.Storage;

/// <summary>
/// <c>fdatasync</c> of an open file: flushes its data and the metadata needed to read the data back (the size), but not
/// timestamps, so on a file whose blocks are already allocated and written (see
/// <see cref="TxnLogOptions.ZeroFillPreallocation"/>) it costs one data write instead of a journal commit. .NET's
/// <see cref="RandomAccess.FlushToDisk"/> is <c>fsync</c>. Falls back to it where fdatasync does not exist (macOS, Windows).
/// </summary>
public static class FileSync
{
    /// <summary>Flushes the data of <paramref name="handle"/> to stable storage.</summary>
    /// <exception cref="IOException">The flush failed (the OS error is in the message); the data may not be durable.</exception>
    public static void DataSync(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (FDataSync((int)handle.DangerousGetHandle()) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fdatasync failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static extern int FDataSync(int fd);
}
