using System.Diagnostics;
using Xunit;

namespace Zooflow.TestKit;

/// <summary>A tmpfs of a given size mounted for one test (root only; the test is skipped otherwise) and unmounted after.</summary>
public sealed class Tmpfs : IAsyncDisposable
{
    private readonly string _mountPoint;

    private Tmpfs(string mountPoint) => _mountPoint = mountPoint;

    public static async Task<Tmpfs> MountAsync(string mountPoint, string size)
    {
        Directory.CreateDirectory(mountPoint);
        var (ok, error) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mountPoint);
        if (!ok)
        {
            Assert.Skip($"cannot mount a {size} tmpfs for the disk-full test (needs root / CAP_SYS_ADMIN): {error}");
        }
        return new Tmpfs(mountPoint);
    }

    /// <summary>Writes a file until only <paramref name="leaveFreeBytes"/> remain free (or the disk is full).</summary>
    public static void Fill(string path, long leaveFreeBytes)
    {
        var free = new DriveInfo(Path.GetDirectoryName(path)!).AvailableFreeSpace;
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)1);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            for (long written = 0; written + chunk.Length <= free - leaveFreeBytes; written += chunk.Length)
            {
                stream.Write(chunk);
            }
            if (leaveFreeBytes == 0)
            {
                while (true)
                {
                    stream.Write(chunk, 0, 4096);
                }
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    public async ValueTask DisposeAsync()
    {
        var (ok, _) = await RunAsync("umount", _mountPoint);
        if (!ok)
        {
            await RunAsync("umount", "-l", _mountPoint);
        }
    }

    private static async Task<(bool Ok, string Error)> RunAsync(string program, params string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (false, "not Linux");
        }
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        try
        {
            using var process = Process.Start(info)!;
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode == 0, error.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}
