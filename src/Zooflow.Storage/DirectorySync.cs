using System.Runtime.InteropServices;

namespace Zooflow.Storage;

/// <summary>
/// fsync of a directory, so that a created, renamed or deleted entry survives a power loss. .NET cannot open a directory
/// as a file handle, so this goes to libc directly (open(O_RDONLY|O_DIRECTORY) + fsync + close). A no-op on Windows,
/// where NTFS journals directory changes.
/// </summary>
internal static partial class DirectorySync
{
    private const int ORdOnly = 0;
    private const int ODirectoryLinux = 0x10000;

    public static void Fsync(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var flags = OperatingSystem.IsLinux() ? ORdOnly | ODirectoryLinux : ORdOnly;
        var fd = Open(directory, flags);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new StorageException($"Cannot open directory '{directory}' to fsync it: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", directory, 0);
        }

        try
        {
            if (FsyncFd(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new StorageException($"fsync of directory '{directory}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", directory, 0);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FsyncFd(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
