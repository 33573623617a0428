using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Zooflow.Pipeline.Components.Sources.Files;

/// <summary>The identity of a file on this machine: device and inode. Stable across renames; a file created in place
/// of another (rotation by rename + create) has a different one.</summary>
/// <param name="Device">The device (<c>makedev(major, minor)</c> of <c>stx_dev_*</c>).</param>
/// <param name="Inode">The inode number (<c>stx_ino</c>, what Java reports as <c>unix:ino</c>).</param>
public readonly record struct FileKey(ulong Device, ulong Inode)
{
    /// <inheritdoc />
    public override string ToString() => $"dev {Device >> 32}:{Device & 0xffffffff} inode {Inode}";
}

/// <summary>What <c>statx(2)</c> reports about one file.</summary>
/// <param name="Key">Device and inode.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="ModifiedNs">Last modification time, nanoseconds since the Unix epoch.</param>
/// <param name="Links">Hard links; 0 once the file was deleted (it lives on while someone holds it open).</param>
/// <param name="Mode">The file type and permission bits (<c>st_mode</c>).</param>
public readonly record struct FileStatus(FileKey Key, long Size, long ModifiedNs, uint Links, uint Mode)
{
    private const uint TypeMask = 0xF000;

    /// <summary>A regular file.</summary>
    public bool IsRegularFile => (Mode & TypeMask) == 0x8000;

    /// <summary>A directory.</summary>
    public bool IsDirectory => (Mode & TypeMask) == 0x4000;

    /// <summary>Last modification time in milliseconds since the Unix epoch (what Java's <c>File.lastModified</c> gives).</summary>
    public long ModifiedMs => ModifiedNs / 1_000_000;

    /// <summary>
    /// The status of the file at <paramref name="path"/> (symbolic links followed, as Java's <c>Files.getAttribute</c>),
    /// or null when nothing is there. Other failures (permission denied on a directory on the way, ...) throw
    /// <see cref="IOException"/> naming the path.
    /// </summary>
    public static FileStatus? TryGet(string path)
    {
        var buffer = new byte[StatxBytes];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) == 0)
        {
            return Parse(buffer);
        }
        var errno = Marshal.GetLastPInvokeError();
        if (errno is ENoEnt or ENotDir)
        {
            return null;
        }
        throw Failure(errno, path);
    }

    /// <summary>The status of the open file <paramref name="handle"/> (<c>statx(fd, "", AT_EMPTY_PATH)</c>): the file the
    /// descriptor refers to, whatever its name is now or whether it still has one.</summary>
    public static FileStatus Get(SafeFileHandle handle, string pathForErrors)
    {
        var buffer = new byte[StatxBytes];
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            var fd = (int)handle.DangerousGetHandle();
            if (Statx(fd, "", AtEmptyPath, StatxBasicStats, buffer) == 0)
            {
                return Parse(buffer);
            }
            throw Failure(Marshal.GetLastPInvokeError(), pathForErrors);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>fsync of a directory, so that a renamed or created entry in it survives a power loss (.NET cannot open a
    /// directory as a file handle).</summary>
    public static void FsyncDirectory(string directory)
    {
        // O_RDONLY alone opens a directory on Linux; O_DIRECTORY's value differs between architectures.
        var fd = Open(directory, ORdOnly);
        if (fd < 0)
        {
            throw Failure(Marshal.GetLastPInvokeError(), directory);
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw Failure(Marshal.GetLastPInvokeError(), directory);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <remarks>
    /// <c>struct statx</c> is the same on every Linux architecture (unlike <c>struct stat</c>), which is why it is used:
    /// <code>
    /// 0 u32 stx_mask | 4 u32 stx_blksize | 8 u64 stx_attributes | 16 u32 stx_nlink | 20 u32 stx_uid | 24 u32 stx_gid
    /// 28 u16 stx_mode | 32 u64 stx_ino | 40 u64 stx_size | 48 u64 stx_blocks | 56 u64 stx_attributes_mask
    /// 64 atime | 80 btime | 96 ctime | 112 mtime (each: i64 tv_sec, u32 tv_nsec, i32 pad)
    /// 128 u32 rdev_major | 132 u32 rdev_minor | 136 u32 dev_major | 140 u32 dev_minor | ... 256 bytes in all
    /// </code>
    /// </remarks>
    private static FileStatus Parse(ReadOnlySpan<byte> b)
    {
        var links = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        var size = (long)BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
        var mtimeSeconds = BinaryPrimitives.ReadInt64LittleEndian(b[112..]);
        var mtimeNanos = BinaryPrimitives.ReadUInt32LittleEndian(b[120..]);
        var devMajor = BinaryPrimitives.ReadUInt32LittleEndian(b[136..]);
        var devMinor = BinaryPrimitives.ReadUInt32LittleEndian(b[140..]);
        return new FileStatus(new FileKey(((ulong)devMajor << 32) | devMinor, inode), size, mtimeSeconds * 1_000_000_000 + mtimeNanos, links, mode);
    }

    private static IOException Failure(int errno, string path) =>
        errno == ENoSys
            ? new IOException($"statx is not available on this system (errno {errno}); the taildir and spooldir sources need Linux 4.11 or later: {path}")
            : new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");

    private const int StatxBytes = 256;
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int ENoEnt = 2;
    private const int ENotDir = 20;
    private const int ENoSys = 38;
    private const int ORdOnly = 0;

    // glibc >= 2.28 exports statx; the struct layout is architecture-independent (see Parse).
    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
