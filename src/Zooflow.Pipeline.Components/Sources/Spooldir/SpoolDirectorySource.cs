using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Files;
using Zooflow.Pipeline.Components.Sources.Taildir;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>
/// Flume's <c>spooldir</c> source: reads the files dropped into a directory, one at a time, delivers their content as
/// events and then renames (or deletes) each finished file. Files must be complete and never change once they are in the
/// directory; a file that changes or cannot be read is set aside with an error and the source goes on with the next one
/// (Flume stops the source).
/// </summary>
/// <remarks>
/// <para>Keys (Flume's defaults): <c>spoolDir</c> (required, must exist); <c>fileSuffix</c> <c>.COMPLETED</c>;
/// <c>deletePolicy</c> never | immediate; <c>trackingPolicy</c> rename | tracker_dir; <c>trackerDir</c> <c>.flumespool</c>
/// (relative to spoolDir; created); <c>fileHeader</c> false, <c>fileHeaderKey</c> <c>file</c> (absolute path);
/// <c>basenameHeader</c> false, <c>basenameHeaderKey</c> <c>basename</c>; <c>includePattern</c> <c>^.*$</c>,
/// <c>ignorePattern</c> <c>^$</c> (regular expressions over the file name; names starting with a dot and names ending in
/// the suffixes are never read); <c>consumeOrder</c> oldest | youngest | random; <c>pollDelay</c> 500 ms;
/// <c>recursiveDirectorySearch</c> false; <c>batchSize</c> 100; <c>inputCharset</c> UTF-8; <c>decodeErrorPolicy</c>
/// FAIL | REPLACE | IGNORE; <c>deserializer</c> LINE (<c>deserializer.maxLineLength</c> 2048,
/// <c>deserializer.outputCharset</c> UTF-8; legacy <c>bufferMaxLineLength</c>) | AVRO (<c>deserializer.schemaType</c> HASH
/// | LITERAL), also by Flume's builder class names; <c>maxBackoff</c> 4000 ms is accepted (a full channel is retried
/// with waits of at most 0.5 s). Zooflow extension: <c>failedSuffix</c> <c>.FAILED</c>.</para>
/// <para>Delivery: a batch is one channel transaction; after it committed, its end position is saved in the progress
/// store (the tracker directory's meta file, Flume's format), so a crash re-delivers at most that batch. A file is
/// renamed or deleted only after all its events were committed.</para>
/// <para>Set aside: a file whose size or modification time changed after it was picked up, or that cannot be opened,
/// read or decoded (decodeErrorPolicy FAIL, a corrupt Avro file), is renamed to <c>&lt;name&gt;&lt;failedSuffix&gt;</c> (with
/// tracker_dir: recorded as <c>&lt;trackerDir&gt;/&lt;relative path&gt;&lt;failedSuffix&gt;</c> holding the reason); the events
/// committed before stay delivered. An empty file is finished without an event (Flume delivers one empty event).</para>
/// <para>Seams for coordinated agents (<see cref="SpoolDirectorySeams"/>): the progress store and the claimer that decides
/// which files this source may take.</para>
/// </remarks>
public sealed class SpoolDirectorySource : IEventDrivenSource, IBatchSized, IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SpoolDirectorySeams _seams;
    private readonly ISpoolFileClaimer _claimer;
    private readonly Random _random;
    private readonly TimeProvider _clock;
    private readonly HashSet<(FileKey Key, long Size, long ModifiedNs)> _setAside = [];
    private readonly JavaCharset _inputCharset;
    private readonly JavaCharset _outputCharset;
    private ISpoolProgressStore? _store;
    private IEventSink? _output;
    private Task? _loop;
    private long _eventsAccepted;
    private long _filesCompleted;
    private long _filesSetAside;
    private long _polls;
    private int _started;

    /// <summary>Reads the keys listed in the remarks with the default seams.</summary>
    public SpoolDirectorySource(string name, ComponentContext context)
        : this(name, context, SpoolDirectorySeams.Default)
    {
    }

    /// <summary>Reads the keys listed in the remarks; <paramref name="seams"/> supplies the progress store, the claimer and
    /// the randomness (for tests and the coordination layer).</summary>
    public SpoolDirectorySource(string name, ComponentContext context, SpoolDirectorySeams seams)
    {
        Name = name;
        _seams = seams;
        _claimer = seams.Claimer ?? AllFilesClaimer.Instance;
        _random = seams.Random ?? new Random();
        _clock = context.Clock;
        _counter = context.Counters.Source(name);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.SpoolDirectorySource");
        Settings = ReadSettings(context, out _inputCharset, out _outputCharset);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The validated settings.</summary>
    public SpoolDirectorySettings Settings { get; }

    /// <inheritdoc />
    public int BatchSize => Settings.BatchSize;

    /// <summary>Events committed so far.</summary>
    public long EventsAccepted => Interlocked.Read(ref _eventsAccepted);

    /// <summary>Files read completely and renamed/deleted.</summary>
    public long FilesCompleted => Interlocked.Read(ref _filesCompleted);

    /// <summary>Files set aside.</summary>
    public long FilesSetAside => Interlocked.Read(ref _filesSetAside);

    /// <summary>Directory polls that found nothing to read (tests wait on it instead of sleeping).</summary>
    public long IdlePolls => Interlocked.Read(ref _polls);

    /// <summary>Completes when the loop ended.</summary>
    public Task Completion => _loop ?? Task.CompletedTask;

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        if (!Directory.Exists(Settings.SpoolDirectory))
        {
            throw new DirectoryNotFoundException($"Spooling directory source {Name}: spoolDir does not exist: {Settings.SpoolDirectory}");
        }
        Directory.CreateDirectory(Settings.TrackerDirectory);
        if (Settings.TrackingPolicy == SpoolTrackingPolicy.Rename || Settings.DeletePolicy == SpoolDeletePolicy.Immediate)
        {
            CheckDirectoryWritable();
        }
        _store = _seams.ProgressStore?.Invoke(Settings) ?? new LocalSpoolProgressStore(Settings, _logger);
        var inProgress = await _store.InProgressAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Spooling directory source {Source} started on {Directory}{Resume}", Name, Settings.SpoolDirectory,
            inProgress is null ? "" : $"; resuming {inProgress.Path} at {inProgress.Position}");
        _loop = RunAsync(inProgress?.Path, _stopping.Token);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                _logger.LogWarning("Spooling directory source {Source}: did not finish within the stop timeout", Name);
            }
        }
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }
        _logger.LogInformation("Spooling directory source {Source} stopped; {Events} events accepted, {Completed} files completed, {SetAside} set aside",
            Name, EventsAccepted, FilesCompleted, FilesSetAside);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>The files that may be read now, in consume order (before the claimer is asked).</summary>
    internal async Task<List<SpoolFile>> CandidatesAsync(CancellationToken cancellationToken)
    {
        var finished = await _store!.FinishedAsync(cancellationToken).ConfigureAwait(false);
        var candidates = new List<SpoolFile>();
        Walk(Settings.SpoolDirectory, candidates, finished);
        switch (Settings.ConsumeOrder)
        {
            case SpoolConsumeOrder.Oldest:
                candidates.Sort(static (a, b) => a.ModifiedNs / 1_000_000 != b.ModifiedNs / 1_000_000
                    ? (a.ModifiedNs / 1_000_000).CompareTo(b.ModifiedNs / 1_000_000)
                    : string.CompareOrdinal(Path.GetFileName(a.Path), Path.GetFileName(b.Path)));
                break;
            case SpoolConsumeOrder.Youngest:
                candidates.Sort(static (a, b) => a.ModifiedNs / 1_000_000 != b.ModifiedNs / 1_000_000
                    ? (b.ModifiedNs / 1_000_000).CompareTo(a.ModifiedNs / 1_000_000)
                    : string.CompareOrdinal(Path.GetFileName(a.Path), Path.GetFileName(b.Path)));
                break;
            default:
                // Sorted first so that a seeded Random gives the same order whatever order the directory lists in.
                candidates.Sort(static (a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
                _random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(candidates));
                break;
        }
        return candidates;
    }

    private void Walk(string directory, List<SpoolFile> candidates, IReadOnlySet<string> finished)
    {
        List<FileSystemInfo> entries;
        try
        {
            entries = new DirectoryInfo(directory).EnumerateFileSystemInfos().ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("Spooling directory source {Source}: cannot list {Directory}: {Error}", Name, directory, ex.Message);
            _counter.AddGenericProcessingFail();
            return;
        }
        foreach (var entry in entries)
        {
            var name = entry.Name;
            if (entry is DirectoryInfo)
            {
                if (Settings.RecursiveDirectorySearch && !name.StartsWith('.') && !Settings.IgnorePattern.IsMatch(name)
                    && entry.FullName != Settings.TrackerDirectory)
                {
                    Walk(entry.FullName, candidates, finished);
                }
                continue;
            }
            // The name decides first (the listing knows it without a stat): finished and ignored files cost nothing.
            if (!IsCandidateName(name))
            {
                continue;
            }
            var relativePath = Relative(entry.FullName);
            if (finished.Contains(relativePath))
            {
                continue;
            }
            FileStatus? status;
            try
            {
                status = FileStatus.TryGet(entry.FullName);
            }
            catch (IOException)
            {
                continue;
            }
            if (status is null)
            {
                // A dangling symbolic link (or gone): a file that cannot be read is set aside when it is picked.
                if (entry.LinkTarget is not null)
                {
                    candidates.Add(new SpoolFile(entry.FullName, relativePath, default, -1, 0));
                }
                continue;
            }
            if (!status.Value.IsRegularFile || _setAside.Contains((status.Value.Key, status.Value.Size, status.Value.ModifiedNs)))
            {
                continue;
            }
            candidates.Add(new SpoolFile(entry.FullName, relativePath, status.Value.Key, status.Value.Size, status.Value.ModifiedNs));
        }
    }

    private bool IsCandidateName(string name) =>
        !name.EndsWith(Settings.CompletedSuffix, StringComparison.Ordinal)
        && !name.EndsWith(Settings.FailedSuffix, StringComparison.Ordinal)
        && !name.StartsWith('.')
        && Settings.IncludePattern.IsMatch(name)
        && !Settings.IgnorePattern.IsMatch(name);

    private string Relative(string path) =>
        Path.GetRelativePath(Settings.SpoolDirectory, path).Replace(Path.DirectorySeparatorChar, '/');

    private async Task RunAsync(string? resumePath, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var events = new List<Event>(Math.Min(Settings.BatchSize, 4096));
        while (!cancellationToken.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                var candidates = await CandidatesAsync(cancellationToken).ConfigureAwait(false);
                if (resumePath is not null)
                {
                    // The file in progress when the source last stopped goes first, whatever the consume order.
                    var index = candidates.FindIndex(c => c.Path == resumePath);
                    if (index > 0)
                    {
                        var resume = candidates[index];
                        candidates.RemoveAt(index);
                        candidates.Insert(0, resume);
                    }
                    resumePath = null;
                }
                foreach (var candidate in candidates)
                {
                    if (!await _claimer.TryClaimAsync(candidate, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }
                    try
                    {
                        await ProcessFileAsync(candidate, events, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        await _claimer.ReleaseAsync(candidate, CancellationToken.None).ConfigureAwait(false);
                    }
                    worked = true;
                    break; // list again: files may have arrived that come first in the consume order
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Spooling directory source {Source}: unexpected failure; retrying after {Delay}", Name, Settings.PollDelay);
                _counter.AddGenericProcessingFail();
            }
            if (worked)
            {
                continue;
            }
            Interlocked.Increment(ref _polls);
            try
            {
                await Task.Delay(Settings.PollDelay, _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task ProcessFileAsync(SpoolFile candidate, List<Event> events, CancellationToken cancellationToken)
    {
        SafeFileHandle handle;
        SpoolFile file;
        try
        {
            handle = File.OpenHandle(candidate.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (!File.Exists(candidate.Path) && new FileInfo(candidate.Path).LinkTarget is null)
            {
                return; // removed in the meantime
            }
            await SetAsideAsync(candidate, $"cannot be opened: {ex.Message}", cancellationToken).ConfigureAwait(false);
            return;
        }
        using (handle)
        {
            var status = FileStatus.Get(handle, candidate.Path);
            file = candidate with { Key = status.Key, Size = status.Size, ModifiedNs = status.ModifiedNs };
            var position = await _store!.BeginAsync(file, cancellationToken).ConfigureAwait(false);
            var headers = Headers(file);
            try
            {
                var deserializer = CreateDeserializer(handle, file);
                deserializer.Seek(position);
                if (position != SpoolPosition.Start)
                {
                    _logger.LogInformation("Spooling directory source {Source}: resuming {Path} at {Position}", Name, file.Path, position);
                }
                while (true)
                {
                    events.Clear();
                    var count = deserializer.ReadEvents(events, Settings.BatchSize);
                    if (count == 0)
                    {
                        break;
                    }
                    if (headers is not null)
                    {
                        for (var i = 0; i < events.Count; i++)
                        {
                            events[i] = events[i].WithHeaders(Merge(events[i].Headers, headers));
                        }
                    }
                    await BackPressure.DeliverAsync(_output!, events, _counter, _logger, Name, cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref _eventsAccepted, count);
                    await _store.SaveAsync(file, deserializer.Position, cancellationToken).ConfigureAwait(false);
                    if (Changed(handle, file) is { } change)
                    {
                        await SetAsideAsync(file, change, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                }
            }
            catch (SpoolFileException ex)
            {
                await SetAsideAsync(file, ex.Message, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (Changed(handle, file) is { } changed)
            {
                await SetAsideAsync(file, changed, cancellationToken).ConfigureAwait(false);
                return;
            }
            await RetireAsync(file, cancellationToken).ConfigureAwait(false);
        }
    }

    private ISpoolDeserializer CreateDeserializer(SafeFileHandle handle, SpoolFile file) => Settings.Deserializer switch
    {
        SpoolDeserializerType.Avro => new AvroSpoolDeserializer(handle, file.Path, Settings.SchemaType),
        _ => new LineSpoolDeserializer(handle, file.Path, _inputCharset, _outputCharset, Settings.MaxLineLength),
    };

    /// <summary>Why the file no longer is what was picked up, or null (Flume checks size and mtime when it finishes).</summary>
    private static string? Changed(SafeFileHandle handle, SpoolFile file)
    {
        var now = FileStatus.Get(handle, file.Path);
        if (now.Size != file.Size)
        {
            return $"File has changed size since being read: {file.Path} ({file.Size} → {now.Size} bytes)";
        }
        if (now.ModifiedNs != file.ModifiedNs)
        {
            return $"File has been modified since being read: {file.Path}";
        }
        return null;
    }

    private IReadOnlyDictionary<string, string>? Headers(SpoolFile file)
    {
        if (!Settings.FileHeader && !Settings.BasenameHeader)
        {
            return null;
        }
        var headers = new Dictionary<string, string>(2, StringComparer.Ordinal);
        if (Settings.FileHeader)
        {
            headers[Settings.FileHeaderKey] = file.Path;
        }
        if (Settings.BasenameHeader)
        {
            headers[Settings.BasenameHeaderKey] = Path.GetFileName(file.Path);
        }
        return headers;
    }

    private static IReadOnlyDictionary<string, string> Merge(IReadOnlyDictionary<string, string> own, IReadOnlyDictionary<string, string> file)
    {
        if (own.Count == 0)
        {
            return file;
        }
        var merged = new Dictionary<string, string>(own, StringComparer.Ordinal);
        foreach (var (key, value) in file)
        {
            merged[key] = value;
        }
        return merged;
    }

    /// <summary>Renames (or deletes) a completely read file and records it as finished.</summary>
    private async Task RetireAsync(SpoolFile file, CancellationToken cancellationToken)
    {
        if (!StillAt(file))
        {
            _logger.LogWarning("Spooling directory source {Source}: {Path} was replaced or moved while it was read; its content was delivered, the file now at that path is left alone",
                Name, file.Path);
        }
        else if (Settings.DeletePolicy == SpoolDeletePolicy.Immediate)
        {
            File.Delete(file.Path);
            _logger.LogInformation("Spooling directory source {Source}: {Path} read completely and deleted", Name, file.Path);
        }
        else if (Settings.TrackingPolicy == SpoolTrackingPolicy.Rename)
        {
            var target = UnusedName(file.Path, Settings.CompletedSuffix);
            if (target != file.Path + Settings.CompletedSuffix)
            {
                _logger.LogWarning("Spooling directory source {Source}: {Path}{Suffix} already exists: the file name was re-used (spooled names must be unique); this one is kept as {Target}",
                    Name, file.Path, Settings.CompletedSuffix, target);
            }
            File.Move(file.Path, target);
            _logger.LogInformation("Spooling directory source {Source}: {Path} read completely, renamed to {Target}", Name, file.Path, target);
        }
        await _store!.CompleteAsync(file, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _filesCompleted);
    }

    private async Task SetAsideAsync(SpoolFile file, string reason, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _filesSetAside);
        _counter.AddEventReadFail();
        var where = "";
        if (Settings.TrackingPolicy == SpoolTrackingPolicy.Rename && StillAt(file))
        {
            var target = UnusedName(file.Path, Settings.FailedSuffix);
            try
            {
                File.Move(file.Path, target);
                where = $"; renamed to {target}";
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                where = $"; it could not be renamed ({ex.Message}) and is skipped until the agent restarts";
            }
        }
        else if (Settings.TrackingPolicy == SpoolTrackingPolicy.TrackerDir)
        {
            where = $"; recorded in {Settings.TrackerDirectory}";
        }
        _setAside.Add((file.Key, file.Size, file.ModifiedNs));
        _logger.LogError("Spooling directory source {Source}: set aside {Path}: {Reason}{Where}. Files in the spooling directory must be complete and unchanging; the source goes on with the next file",
            Name, file.Path, reason, where);
        try
        {
            await _store!.SetAsideAsync(file, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("Spooling directory source {Source}: cannot record {Path} as set aside: {Error}", Name, file.Path, ex.Message);
        }
    }

    /// <summary>Whether the path still names the file that was read (not replaced while it was read).</summary>
    private static bool StillAt(SpoolFile file)
    {
        try
        {
            return file.Size < 0 || FileStatus.TryGet(file.Path) is { } now && now.Key == file.Key;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary><paramref name="path"/> + <paramref name="suffix"/>, or when that exists <c>path.N</c> + suffix (still
    /// ending with the suffix, so it is never read again).</summary>
    private static string UnusedName(string path, string suffix)
    {
        if (!Path.Exists(path + suffix))
        {
            return path + suffix;
        }
        for (var n = 1; ; n++)
        {
            var candidate = path + "." + n.ToString(System.Globalization.CultureInfo.InvariantCulture) + suffix;
            if (!Path.Exists(candidate))
            {
                return candidate;
            }
        }
    }

    private void CheckDirectoryWritable()
    {
        // Flume's canary: the source must be able to create, read and delete files in the spooling directory.
        var canary = Path.Combine(Settings.SpoolDirectory, ".zooflow-spooldir-perm-check-" + Guid.NewGuid().ToString("N") + ".canary");
        try
        {
            File.WriteAllText(canary, "testing zooflow file permissions\n");
            File.Delete(canary);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Spooling directory source {Name}: unable to create and delete files in the spooling directory {Settings.SpoolDirectory}: {ex.Message}", ex);
        }
    }

    private SpoolDirectorySettings ReadSettings(ComponentContext context, out JavaCharset input, out JavaCharset output)
    {
        var spoolDir = context.GetRequiredString("spoolDir");
        var spoolDirectory = "";
        if (context.Properties.ContainsKey("spoolDir"))
        {
            if (string.IsNullOrWhiteSpace(spoolDir))
            {
                context.AddError("spoolDir", "is empty (allowed: an existing directory)");
            }
            else
            {
                spoolDirectory = Path.GetFullPath(spoolDir);
                if (!Directory.Exists(spoolDirectory))
                {
                    context.AddError("spoolDir", File.Exists(spoolDirectory)
                        ? $"'{spoolDirectory}' is a file (allowed: an existing directory)"
                        : $"directory does not exist: {spoolDirectory}");
                }
            }
        }
        var completedSuffix = NonEmpty(context, "fileSuffix", ".COMPLETED");
        var failedSuffix = NonEmpty(context, "failedSuffix", ".FAILED");
        if (completedSuffix == failedSuffix)
        {
            context.AddError("failedSuffix", $"'{failedSuffix}' equals fileSuffix (allowed: a different suffix)");
        }
        var deletePolicy = context.GetChoice("deletePolicy", "never", "never", "immediate") == "immediate" ? SpoolDeletePolicy.Immediate : SpoolDeletePolicy.Never;
        var trackingPolicy = context.GetChoice("trackingPolicy", "rename", "rename", "tracker_dir") == "tracker_dir" ? SpoolTrackingPolicy.TrackerDir : SpoolTrackingPolicy.Rename;
        var trackerDir = NonEmpty(context, "trackerDir", ".flumespool");
        var trackerDirectory = Path.IsPathRooted(trackerDir) || spoolDirectory.Length == 0 ? Path.GetFullPath(trackerDir) : Path.GetFullPath(Path.Combine(spoolDirectory, trackerDir));
        if (spoolDirectory.Length > 0 && Directory.Exists(spoolDirectory))
        {
            try
            {
                Directory.CreateDirectory(trackerDirectory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                context.AddError("trackerDir", $"'{trackerDirectory}' cannot be created: {ex.Message}");
            }
        }
        var include = Pattern(context, "includePattern", "^.*$");
        var ignore = Pattern(context, "ignorePattern", "^$");
        var consumeOrder = context.GetChoice("consumeOrder", "oldest", "oldest", "youngest", "random") switch
        {
            "youngest" => SpoolConsumeOrder.Youngest,
            "random" => SpoolConsumeOrder.Random,
            _ => SpoolConsumeOrder.Oldest,
        };
        var pollDelay = TimeSpan.FromMilliseconds(context.GetLong("pollDelay", 500, 1));
        context.GetLong("maxBackoff", 4000, 1);
        var deserializer = context.GetChoice("deserializer", "LINE", "LINE", "AVRO",
            "org.apache.flume.serialization.LineDeserializer$Builder", "org.apache.flume.serialization.AvroEventDeserializer$Builder") switch
        {
            "AVRO" or "org.apache.flume.serialization.AvroEventDeserializer$Builder" => SpoolDeserializerType.Avro,
            _ => SpoolDeserializerType.Line,
        };
        var policy = context.GetChoice("decodeErrorPolicy", "FAIL", "FAIL", "REPLACE", "IGNORE") switch
        {
            "REPLACE" => DecodeErrorPolicy.Replace,
            "IGNORE" => DecodeErrorPolicy.Ignore,
            _ => DecodeErrorPolicy.Fail,
        };
        var inputName = context.GetString("inputCharset", "UTF-8")!;
        input = JavaCharset.TryResolve(inputName, policy) ?? Unknown(context, "inputCharset", inputName, policy);
        var outputName = context.GetString("deserializer.outputCharset", "UTF-8")!;
        output = JavaCharset.TryResolve(outputName, DecodeErrorPolicy.Replace) ?? Unknown(context, "deserializer.outputCharset", outputName, DecodeErrorPolicy.Replace);
        var maxLineLength = context.Properties.ContainsKey("deserializer.maxLineLength") || !context.Properties.ContainsKey("bufferMaxLineLength")
            ? context.GetInt("deserializer.maxLineLength", 2048, 1, 64 * 1024 * 1024)
            : context.GetInt("bufferMaxLineLength", 2048, 1, 64 * 1024 * 1024);
        var schemaType = context.GetChoice("deserializer.schemaType", "HASH", "HASH", "LITERAL") == "LITERAL" ? AvroSchemaType.Literal : AvroSchemaType.Hash;
        return new SpoolDirectorySettings(
            spoolDirectory, completedSuffix, failedSuffix, deletePolicy, trackingPolicy, trackerDirectory,
            context.GetBool("fileHeader", false), context.GetString("fileHeaderKey", "file")!,
            context.GetBool("basenameHeader", false), context.GetString("basenameHeaderKey", "basename")!,
            include, ignore, consumeOrder, pollDelay, context.GetBool("recursiveDirectorySearch", false),
            context.GetInt("batchSize", 100, 1, 1_000_000), deserializer, input.Name, output.Name, policy, maxLineLength, schemaType);
    }

    private static string NonEmpty(ComponentContext context, string key, string defaultValue)
    {
        var value = context.GetString(key, defaultValue)!;
        if (value.Length == 0)
        {
            context.AddError(key, $"is empty (default: {defaultValue})");
            return defaultValue;
        }
        return value;
    }

    private static System.Text.RegularExpressions.Regex Pattern(ComponentContext context, string key, string defaultValue)
    {
        var value = context.GetString(key, defaultValue)!;
        try
        {
            return FileGroup.CompileNamePattern(value);
        }
        catch (ArgumentException ex)
        {
            context.AddError(key, $"'{value}' is not a valid regular expression: {ex.Message}");
            return FileGroup.CompileNamePattern(defaultValue);
        }
    }

    private static JavaCharset Unknown(ComponentContext context, string key, string name, DecodeErrorPolicy policy)
    {
        context.AddError(key, $"'{name}' is not a supported character set (allowed: {JavaCharset.Allowed})");
        return JavaCharset.TryResolve("UTF-8", policy)!;
    }
}
