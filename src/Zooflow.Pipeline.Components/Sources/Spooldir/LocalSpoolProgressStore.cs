using System.Text;
using Microsoft.Extensions.Logging;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>
/// The default <see cref="ISpoolProgressStore"/>: Flume's tracker directory. The position in the current file is the
/// meta file <c>.flumespool-main.meta</c> (<see cref="SpoolMetaFile"/>, readable by Flume and from Flume); with
/// <c>trackingPolicy = tracker_dir</c> a finished file is recorded as an empty marker
/// <c>&lt;trackerDir&gt;/&lt;relative path&gt;&lt;fileSuffix&gt;</c> (Flume's) and a set-aside one as
/// <c>&lt;trackerDir&gt;/&lt;relative path&gt;&lt;failedSuffix&gt;</c> holding the reason.
/// </summary>
/// <remarks>Used by one source loop; not thread-safe.</remarks>
public sealed class LocalSpoolProgressStore : ISpoolProgressStore
{
    private readonly SpoolDirectorySettings _settings;
    private readonly ILogger _logger;
    private readonly string _metaPath;
    private SpoolMetaFile? _meta;

    /// <summary>Creates the store; the tracker directory must exist (the source creates it).</summary>
    public LocalSpoolProgressStore(SpoolDirectorySettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
        _metaPath = Path.Combine(settings.TrackerDirectory, SpoolMetaFile.FileName);
    }

    /// <inheritdoc />
    public ValueTask<SpoolProgress?> InProgressAsync(CancellationToken cancellationToken)
    {
        try
        {
            var progress = SpoolMetaFile.Read(_metaPath);
            return ValueTask.FromResult(progress is null ? null : progress with { Path = Path.GetFullPath(progress.Path) });
        }
        catch (AvroFormatException ex)
        {
            _logger.LogError("Spooling directory source: the meta file is unreadable ({Error}); the file in progress will be read from its start", ex.Message);
            return ValueTask.FromResult<SpoolProgress?>(null);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlySet<string>> FinishedAsync(CancellationToken cancellationToken)
    {
        var finished = new HashSet<string>(StringComparer.Ordinal);
        if (_settings.TrackingPolicy == SpoolTrackingPolicy.TrackerDir && Directory.Exists(_settings.TrackerDirectory))
        {
            foreach (var marker in Directory.EnumerateFiles(_settings.TrackerDirectory, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(_settings.TrackerDirectory, marker).Replace(Path.DirectorySeparatorChar, '/');
                if (relative.EndsWith(_settings.CompletedSuffix, StringComparison.Ordinal))
                {
                    finished.Add(relative[..^_settings.CompletedSuffix.Length]);
                }
                else if (relative.EndsWith(_settings.FailedSuffix, StringComparison.Ordinal))
                {
                    finished.Add(relative[..^_settings.FailedSuffix.Length]);
                }
            }
        }
        return ValueTask.FromResult<IReadOnlySet<string>>(finished);
    }

    /// <inheritdoc />
    public ValueTask<SpoolPosition> BeginAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        var position = SpoolPosition.Start;
        SpoolProgress? previous = null;
        try
        {
            previous = SpoolMetaFile.Read(_metaPath);
        }
        catch (AvroFormatException ex)
        {
            _logger.LogError("Spooling directory source: the meta file is unreadable ({Error}); reading {Path} from its start", ex.Message, file.Path);
        }
        if (previous is not null && Path.GetFullPath(previous.Path) == file.Path)
        {
            if (previous.Inode is { } inode && inode != file.Key.Inode)
            {
                _logger.LogWarning("Spooling directory source: the meta file's position for {Path} belongs to another file (inode {Old}, now {New}); reading it from its start",
                    file.Path, inode, file.Key.Inode);
            }
            else
            {
                position = previous.Position;
            }
        }
        _meta?.Dispose();
        _meta = SpoolMetaFile.Create(_metaPath, file.Path, file.Key.Inode);
        if (position != SpoolPosition.Start)
        {
            _meta.Append(position);
        }
        return ValueTask.FromResult(position);
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(SpoolFile file, SpoolPosition position, CancellationToken cancellationToken)
    {
        (_meta ?? throw new InvalidOperationException($"SaveAsync before BeginAsync for {file.Path}")).Append(position);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        if (_settings.TrackingPolicy == SpoolTrackingPolicy.TrackerDir && _settings.DeletePolicy == SpoolDeletePolicy.Never)
        {
            WriteMarker(file, _settings.CompletedSuffix, "");
        }
        EndFile();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask SetAsideAsync(SpoolFile file, string reason, CancellationToken cancellationToken)
    {
        if (_settings.TrackingPolicy == SpoolTrackingPolicy.TrackerDir)
        {
            WriteMarker(file, _settings.FailedSuffix, reason + "\n");
        }
        EndFile();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _meta?.Dispose();
        _meta = null;
        return ValueTask.CompletedTask;
    }

    private void WriteMarker(SpoolFile file, string suffix, string content)
    {
        var marker = Path.Combine(_settings.TrackerDirectory, file.RelativePath.Replace('/', Path.DirectorySeparatorChar) + suffix);
        Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
        File.WriteAllText(marker, content, Encoding.UTF8);
    }

    private void EndFile()
    {
        _meta?.Dispose();
        _meta = null;
        File.Delete(_metaPath);
    }
}
