namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// The free space of one data directory's filesystem, as Flume's <c>minimumRequiredSpace</c> check sees it: asked of the
/// OS (<c>statvfs</c>: space available to unprivileged users) at most once a second, and in between estimated by
/// subtracting what the channel wrote, so a put commit costs no system call. Close to the limit it asks again each time.
/// </summary>
/// <remarks>Not thread-safe: used under the channel's lock.</remarks>
internal sealed class DiskSpace(string directory, long minimumRequired, TimeProvider clock)
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private long _estimate = -1;
    private long _refreshedAt;

    /// <summary>The last usable-bytes figure (estimated).</summary>
    public long Usable => _estimate;

    /// <summary>
    /// True when <paramref name="bytes"/> more may be written while keeping <c>minimumRequiredSpace</c> free (then they are
    /// subtracted from the estimate); false with the usable bytes and the requirement, for Flume's message.
    /// </summary>
    public bool TryReserve(long bytes, out long usable, out long required)
    {
        required = minimumRequired + bytes;
        if (_estimate < 0 || clock.GetElapsedTime(_refreshedAt) >= RefreshInterval || _estimate <= required)
        {
            Refresh();
        }
        usable = _estimate;
        if (usable <= required)
        {
            return false;
        }
        _estimate -= bytes;
        return true;
    }

    /// <summary>Forgets the estimate (a write just failed for lack of space): the next check asks the OS.</summary>
    public void Invalidate() => _estimate = -1;

    private void Refresh()
    {
        try
        {
            _estimate = new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Unknown: let the write itself find out (a failed write is reported with the OS error).
            _estimate = long.MaxValue;
        }
        _refreshedAt = clock.GetTimestamp();
    }
}
