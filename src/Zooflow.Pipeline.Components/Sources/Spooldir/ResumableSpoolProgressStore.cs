using System.Globalization;
using System.Text;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>
/// The spooling directory source's progress kept in the runtime's <see cref="ISourceProgressStore"/> (the source is
/// <see cref="IResumableSource"/>): under <c>&lt;source&gt;.singleton</c> that is a fenced znode in the coordination
/// service, so an agent taking over resumes the file in progress where the last leader's last committed batch ended and
/// skips the files it finished. One seam: the same store the runtime gives every resumable source.
/// </summary>
/// <remarks>
/// <para>Progress grammar (UTF-8 text; a path is relative to the spooling directory with <c>%</c>, LF and CR written
/// as <c>%25</c>, <c>%0A</c>, <c>%0D</c>):</para>
/// <code>
/// progress = "zooflow-spool 1" LF [ current LF ] *( finished LF )
/// current  = "current" SP inode SP offset SP records-into-block SP path      ; decimal numbers
/// finished = "finished" SP path
/// </code>
/// <para>The whole progress is written after every committed batch and after each file is finished. Finished files are
/// listed only while they are still in the directory under their name (trackingPolicy = tracker_dir, or a rename that
/// failed); renamed and deleted files are excluded by their name and dropped from the list, which keeps the progress
/// small. More than <see cref="ISourceProgressStore.ProgressBytesMax"/> of names fails the save with an error saying so.</para>
/// <para>A save the store refuses with <see cref="ProgressFencedException"/> (leadership lost) stops the source's loop.</para>
/// </remarks>
public sealed class ResumableSpoolProgressStore : ISpoolProgressStore
{
    private const string Header = "zooflow-spool 1";
    private readonly ISourceProgressStore _store;
    private readonly SpoolDirectorySettings _settings;
    private readonly SortedSet<string> _finished = new(StringComparer.Ordinal);
    private (string RelativePath, ulong Inode, SpoolPosition Position)? _current;
    private bool _loaded;

    /// <summary>Keeps the progress of a source with <paramref name="settings"/> in <paramref name="store"/>.</summary>
    public ResumableSpoolProgressStore(ISourceProgressStore store, SpoolDirectorySettings settings)
    {
        _store = store;
        _settings = settings;
    }

    /// <inheritdoc />
    public async ValueTask<SpoolProgress?> InProgressAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken).ConfigureAwait(false);
        return _current is { } c ? new SpoolProgress(Absolute(c.RelativePath), c.Position, c.Inode) : null;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlySet<string>> FinishedAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken).ConfigureAwait(false);
        return new HashSet<string>(_finished, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public async ValueTask<SpoolPosition> BeginAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken).ConfigureAwait(false);
        var position = _current is { } c && c.RelativePath == file.RelativePath && c.Inode == file.Key.Inode ? c.Position : SpoolPosition.Start;
        _current = (file.RelativePath, file.Key.Inode, position);
        return position;
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(SpoolFile file, SpoolPosition position, CancellationToken cancellationToken)
    {
        _current = (file.RelativePath, file.Key.Inode, position);
        return PersistAsync(cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask CompleteAsync(SpoolFile file, CancellationToken cancellationToken) => FinishAsync(file, cancellationToken);

    /// <inheritdoc />
    public ValueTask SetAsideAsync(SpoolFile file, string reason, CancellationToken cancellationToken) => FinishAsync(file, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private ValueTask FinishAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        _current = null;
        if (File.Exists(file.Path))
        {
            _finished.Add(file.RelativePath);
        }
        // Drop the names of finished files that were removed since (renamed away, deleted by the operator).
        _finished.RemoveWhere(relative => !File.Exists(Absolute(relative)));
        return PersistAsync(cancellationToken);
    }

    private async ValueTask LoadAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }
        var saved = await _store.LoadAsync(cancellationToken).ConfigureAwait(false);
        if (saved is not null)
        {
            Parse(saved, _store.Location, out _current, _finished);
        }
        _loaded = true;
    }

    private async ValueTask PersistAsync(CancellationToken cancellationToken)
    {
        var bytes = Format(_current, _finished);
        if (bytes.Length > ISourceProgressStore.ProgressBytesMax)
        {
            throw new IOException($"the progress of spooling directory {_settings.SpoolDirectory} lists {_finished.Count} finished files still in the directory " +
                $"({bytes.Length} bytes, more than {ISourceProgressStore.ProgressBytesMax} fit in {_store.Location}); remove finished files or use trackingPolicy = rename");
        }
        await _store.SaveAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    private string Absolute(string relative) => Path.Combine(_settings.SpoolDirectory, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The progress bytes (grammar in the remarks).</summary>
    internal static byte[] Format((string RelativePath, ulong Inode, SpoolPosition Position)? current, IEnumerable<string> finished)
    {
        var text = new StringBuilder(Header).Append('\n');
        if (current is { } c)
        {
            text.Append(CultureInfo.InvariantCulture, $"current {c.Inode} {c.Position.Offset} {c.Position.RecordsIntoBlock} {Escape(c.RelativePath)}\n");
        }
        foreach (var name in finished)
        {
            text.Append("finished ").Append(Escape(name)).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Reads progress bytes; throws <see cref="InvalidDataException"/> naming the line when they are malformed.</summary>
    internal static void Parse(byte[] bytes, string location, out (string RelativePath, ulong Inode, SpoolPosition Position)? current, ISet<string> finished)
    {
        current = null;
        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        if (lines[0] != Header)
        {
            throw new InvalidDataException($"{location}: not spooling directory progress (expected '{Header}' on line 1, found '{Truncate(lines[0])}'); fix or delete it");
        }
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
            {
                continue;
            }
            if (line.StartsWith("finished ", StringComparison.Ordinal))
            {
                finished.Add(Unescape(line["finished ".Length..]));
                continue;
            }
            var parts = line.Split(' ', 5);
            if (parts.Length == 5 && parts[0] == "current"
                && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
                && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                && long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var records))
            {
                current = (Unescape(parts[4]), inode, new SpoolPosition(offset, records));
                continue;
            }
            throw new InvalidDataException($"{location}: line {i + 1} '{Truncate(line)}' is not 'current <inode> <offset> <records> <path>' or 'finished <path>'; fix or delete it");
        }
    }

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";

    private static string Escape(string path) =>
        path.Replace("%", "%25", StringComparison.Ordinal).Replace("\n", "%0A", StringComparison.Ordinal).Replace("\r", "%0D", StringComparison.Ordinal);

    private static string Unescape(string text) =>
        text.Replace("%0A", "\n", StringComparison.Ordinal).Replace("%0D", "\r", StringComparison.Ordinal).Replace("%25", "%", StringComparison.Ordinal);
}
