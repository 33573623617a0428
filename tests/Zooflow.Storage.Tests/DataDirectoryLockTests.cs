using Xunit;

namespace Zooflow.Storage.Tests;

/// <summary>Two servers must never share a dataDir: the second one fails with a clear error.</summary>
public sealed class DataDirectoryLockTests
{
    [Fact]
    public void Acquire_Twice_SecondFailsNamingDirectory()
    {
        using var dir = new TempDirectory();
        using (DataDirectoryLock.Acquire(dir.Path))
        {
            var error = Assert.Throws<DataDirectoryLockedException>(() => DataDirectoryLock.Acquire(dir.Path));
            Assert.Contains(dir.Path, error.Message, StringComparison.Ordinal);
            Assert.Equal(Path.Combine(dir.Path, DataDirectoryLock.FileName), error.FilePath);
        }

        using var again = DataDirectoryLock.Acquire(dir.Path);
        Assert.True(File.Exists(again.FilePath));
    }

    [Fact]
    public async Task Acquire_HeldByOtherProcess_FailsUntilThatProcessIsKilled()
    {
        using var dir = new TempDirectory();
        using var child = DriverProcess.Start("lock", dir.Path);
        Assert.Equal("LOCKED", await child.ReadLineAsync(TimeSpan.FromSeconds(60)));

        var error = Assert.Throws<DataDirectoryLockedException>(() => DataDirectoryLock.Acquire(dir.Path));
        Assert.Contains("in use by another server", error.Message, StringComparison.Ordinal);

        // SIGKILL: the kernel releases the flock, so a stale lock file never blocks a restart.
        await child.KillAsync();
        using var mine = DataDirectoryLock.Acquire(dir.Path);
        Assert.True(File.Exists(mine.FilePath));
    }
}
