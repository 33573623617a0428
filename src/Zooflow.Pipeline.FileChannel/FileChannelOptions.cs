using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.FileChannel;

/// <summary>
/// Validated settings of a file channel, with Flume's keys and defaults (Flume 1.9–1.11
/// <c>FileChannelConfiguration</c>). Immutable; <see cref="FromContext"/> reads them from a configuration and records
/// every problem with its key and line instead of silently replacing a bad value with a default as Flume does.
/// </summary>
public sealed record FileChannelOptions
{
    /// <summary>Flume's default <c>capacity</c>.</summary>
    public const long DefaultCapacity = 1_000_000;

    /// <summary>Flume's default <c>transactionCapacity</c>.</summary>
    public const int DefaultTransactionCapacity = 10_000;

    /// <summary>Flume's documented default and upper limit of <c>maxFileSize</c> (bytes).</summary>
    public const long MaxFileSizeLimit = 2_146_435_071;

    /// <summary>Flume's default <c>minimumRequiredSpace</c>: 500 MiB.</summary>
    public const long DefaultMinimumRequiredSpace = 500L * 1024 * 1024;

    /// <summary>Flume's floor of <c>minimumRequiredSpace</c>: 1 MiB.</summary>
    public const long MinimumRequiredSpaceFloor = 1024 * 1024;

    /// <summary>Default of the Zooflow key <c>eventCacheBytes</c>: recently put events kept in memory for the takes.</summary>
    public const long DefaultEventCacheBytes = 64L * 1024 * 1024;

    /// <summary><c>checkpointDir</c> (Flume default <c>~/.flume/file-channel/checkpoint</c>).</summary>
    public required string CheckpointDir { get; init; }

    /// <summary><c>useDualCheckpoints</c> (default false): copy each checkpoint to <see cref="BackupCheckpointDir"/>.</summary>
    public bool UseDualCheckpoints { get; init; }

    /// <summary><c>backupCheckpointDir</c>: required with dual checkpoints, and different from the checkpoint dir.</summary>
    public string? BackupCheckpointDir { get; init; }

    /// <summary><c>dataDirs</c> (comma list, Flume default <c>~/.flume/file-channel/data</c>): committed transactions go
    /// to each in turn; put them on different disks to spread the flushes.</summary>
    public required IReadOnlyList<string> DataDirs { get; init; }

    /// <summary><c>capacity</c>: most events held (default 1,000,000).</summary>
    public long Capacity { get; init; } = DefaultCapacity;

    /// <summary><c>transactionCapacity</c>: most puts or takes in one transaction (default 10,000).</summary>
    public int TransactionCapacity { get; init; } = DefaultTransactionCapacity;

    /// <summary><c>checkpointInterval</c> (ms in the configuration, default 30 s): how often the queue is checkpointed,
    /// which bounds the replay at start and lets fully taken data files be deleted.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>maxFileSize</c>: a data file rolls once it holds this many bytes (default and limit 2,146,435,071).</summary>
    public long MaxFileSize { get; init; } = MaxFileSizeLimit;

    /// <summary><c>minimumRequiredSpace</c>: puts are refused (channel full) while a data directory's filesystem has less
    /// free space than this plus the transaction (default 500 MiB, at least 1 MiB). Takes and checkpoints may use it.</summary>
    public long MinimumRequiredSpace { get; init; } = DefaultMinimumRequiredSpace;

    /// <summary><c>keep-alive</c> (seconds, default 3): how long a put commit waits for room in a full channel.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary><c>checkpointOnClose</c> (default true): write a checkpoint when the channel stops, so the next start
    /// replays nothing.</summary>
    public bool CheckpointOnClose { get; init; } = true;

    /// <summary><c>fsyncPerTransaction</c> (default true): a commit returns only after its data is flushed to disk. With
    /// false, commits return once written to the OS and the data files are flushed every <see cref="FsyncInterval"/>:
    /// nothing is lost when the process dies (kill -9), up to that interval of commits when the machine does.</summary>
    public bool FsyncPerTransaction { get; init; } = true;

    /// <summary><c>fsyncInterval</c> (seconds, default 5): the flush period when <see cref="FsyncPerTransaction"/> is off.</summary>
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>eventCacheBytes</c> (Zooflow extension, default 64 MiB, 0 disables): bodies and headers of recently
    /// put events kept in memory so that takes need not read them back from the data files.</summary>
    public long EventCacheBytes { get; init; } = DefaultEventCacheBytes;

    /// <summary>
    /// A checkpoint is also written after this many bytes of records (a Zooflow addition to Flume's timer, 64 MiB): a
    /// restart after a crash then replays at most about this much, whatever the traffic within checkpointInterval (at
    /// 200k events/s, 30 s are over a gigabyte). A checkpoint costs 4 bytes per queued event, written off the commit path.
    /// Not a configuration key; tests lower it.
    /// </summary>
    internal long CheckpointBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Flume's defaults under <paramref name="homeDirectory"/> (<c>~/.flume/file-channel/checkpoint</c> and
    /// <c>~/.flume/file-channel/data</c>).</summary>
    public static FileChannelOptions Default(string homeDirectory) => new()
    {
        CheckpointDir = Path.Combine(homeDirectory, ".flume", "file-channel", "checkpoint"),
        DataDirs = [Path.Combine(homeDirectory, ".flume", "file-channel", "data")],
    };

    /// <summary>
    /// Reads the options from a component context, recording every error there (key, line, bad value, what is allowed).
    /// Relative directories are resolved against the current directory, as Flume's <c>java.io.File</c> does.
    /// </summary>
    /// <param name="context">The channel's properties.</param>
    /// <param name="homeDirectory">The user's home, for Flume's default directories.</param>
    public static FileChannelOptions FromContext(ComponentContext context, string homeDirectory)
    {
        ArgumentNullException.ThrowIfNull(context);
        var d = Default(homeDirectory);
        var checkpointDir = Directory(context, "checkpointDir", d.CheckpointDir);
        var dual = context.GetBool("useDualCheckpoints", false);
        string? backup = null;
        if (dual)
        {
            backup = context.GetString("backupCheckpointDir")?.Trim();
            if (string.IsNullOrEmpty(backup))
            {
                context.AddError("backupCheckpointDir", "Dual checkpointing is enabled, but the backup directory is not set. Please set backupCheckpointDir to enable dual checkpointing (allowed: a directory other than checkpointDir)");
                backup = null;
            }
            else
            {
                backup = Path.GetFullPath(backup);
                if (SamePath(backup, checkpointDir))
                {
                    context.AddError("backupCheckpointDir", $"'{backup}': the checkpoint backup directory and the checkpoint directory are configured to be the same (allowed: a directory other than checkpointDir)");
                }
            }
        }

        var dataDirs = DataDirectories(context, d.DataDirs[0]);
        var capacity = context.GetLong("capacity", DefaultCapacity, 1, int.MaxValue);
        var transactionCapacity = context.GetInt("transactionCapacity", DefaultTransactionCapacity, 1);
        if (transactionCapacity > capacity)
        {
            context.AddError("transactionCapacity", $"{transactionCapacity}: File Channel transaction capacity cannot be greater than the capacity of the channel ({capacity}) (allowed: <= capacity)");
        }

        var checkpointIntervalMs = context.GetLong("checkpointInterval", 30_000, 1);
        var maxFileSize = context.GetLong("maxFileSize", MaxFileSizeLimit, 4096, MaxFileSizeLimit);
        var minimumSpace = context.GetLong("minimumRequiredSpace", DefaultMinimumRequiredSpace, MinimumRequiredSpaceFloor);
        var keepAlive = context.GetInt("keep-alive", 3, 0);
        var checkpointOnClose = context.GetBool("checkpointOnClose", true);
        var fsyncPerTransaction = context.GetBool("fsyncPerTransaction", true);
        var fsyncInterval = context.GetInt("fsyncInterval", 5, 1);
        var cacheBytes = context.GetLong("eventCacheBytes", DefaultEventCacheBytes, 0);

        // Flume keys accepted for compatibility; they tune Flume's replay or its checkpoint copy and have no meaning here.
        _ = context.GetBool("use-log-replay-v1", false);
        _ = context.GetBool("use-fast-replay", false);
        _ = context.GetBool("compressBackupCheckpoint", false);
        foreach (var (key, _) in context.SubProperties("encryption."))
        {
            context.AddError("encryption." + key,
                "file channel encryption is not supported by this agent; refusing to write the events unencrypted (allowed: remove the encryption.* keys, or encrypt the filesystem of checkpointDir and dataDirs)");
        }

        return new FileChannelOptions
        {
            CheckpointDir = checkpointDir,
            UseDualCheckpoints = dual && backup is not null,
            BackupCheckpointDir = backup,
            DataDirs = dataDirs,
            Capacity = capacity,
            TransactionCapacity = transactionCapacity,
            CheckpointInterval = TimeSpan.FromMilliseconds(checkpointIntervalMs),
            MaxFileSize = maxFileSize,
            MinimumRequiredSpace = minimumSpace,
            KeepAlive = TimeSpan.FromSeconds(keepAlive),
            CheckpointOnClose = checkpointOnClose,
            FsyncPerTransaction = fsyncPerTransaction,
            FsyncInterval = TimeSpan.FromSeconds(fsyncInterval),
            EventCacheBytes = cacheBytes,
        };
    }

    /// <summary>The directories the channel writes, each with its key (for <see cref="IDirectoryOwner"/>).</summary>
    public IReadOnlyList<OwnedDirectory> OwnedDirectories()
    {
        var result = new List<OwnedDirectory> { new("checkpointDir", CheckpointDir) };
        if (UseDualCheckpoints && BackupCheckpointDir is not null)
        {
            result.Add(new("backupCheckpointDir", BackupCheckpointDir));
        }
        foreach (var dir in DataDirs)
        {
            result.Add(new("dataDirs", dir));
        }
        return result;
    }

    private static string Directory(ComponentContext context, string key, string defaultPath)
    {
        var value = context.GetString(key)?.Trim();
        if (value is null)
        {
            return defaultPath;
        }
        if (value.Length == 0)
        {
            context.AddError(key, "is empty (allowed: a directory path)");
            return defaultPath;
        }
        return Path.GetFullPath(value);
    }

    private static List<string> DataDirectories(ComponentContext context, string defaultPath)
    {
        var value = context.GetString("dataDirs");
        if (value is null)
        {
            return [defaultPath];
        }
        var dirs = new List<string>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var full = Path.GetFullPath(part);
            if (dirs.Exists(d => SamePath(d, full)))
            {
                context.AddError("dataDirs", $"lists '{full}' twice (allowed: distinct directories, comma-separated)");
                continue;
            }
            dirs.Add(full);
        }
        if (dirs.Count == 0)
        {
            context.AddError("dataDirs", $"'{value}' names no directory (allowed: one or more directories, comma-separated)");
            dirs.Add(defaultPath);
        }
        return dirs;
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);
}
