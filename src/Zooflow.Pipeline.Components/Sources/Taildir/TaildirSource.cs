using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>
/// Flume's <c>TAILDIR</c> source: tails every file whose name matches a file group's regular expression and delivers
/// each line as an event, remembering in a position file how far each file (by inode) was committed.
/// </summary>
/// <remarks>
/// <para>Keys (Flume's defaults unless noted): <c>filegroups</c> (required, space-separated names);
/// <c>filegroups.&lt;g&gt;</c> (required per group: a directory and a regular expression for the file name, e.g.
/// <c>/var/log/app/.*\.log</c>; the directory must exist); <c>headers.&lt;g&gt;.&lt;key&gt;</c> = value added to every event
/// of the group; <c>positionFile</c> <c>~/.flume/taildir_position.json</c> (its directory is created);
/// <c>batchSize</c> 100; <c>maxBatchCount</c> unlimited (batches from one file before the next file gets a turn);
/// <c>skipToEnd</c> false; <c>byteOffsetHeader</c> false (header <c>byteoffset</c>); <c>fileHeader</c> false,
/// <c>fileHeaderKey</c> <c>file</c>; <c>idleTimeout</c> 120000 ms; <c>writePosInterval</c> 3000 ms;
/// <c>cachePatternMatching</c> true; <c>backoffSleepIncrement</c> and <c>maxBackoffSleep</c>: the wait after rounds that
/// found nothing grows by the increment up to the maximum (Zooflow defaults 50 and 250 ms, Flume's 1000 and 5000 ms, so a
/// new line is picked up within a quarter second); Zooflow extension <c>maxLineLength</c> 16 MiB (a longer line is
/// delivered in pieces; Flume buffers without limit).</para>
/// <para>Delivery: a batch of lines from one file is one channel transaction; the file's position advances only after
/// the transaction committed, and the position file is rewritten after every commit, so a crash re-reads at most that
/// batch. A full channel holds the source (the batch is retried; nothing is dropped). A line is delivered once its
/// newline is there; the last, unterminated line of a file is delivered when the file has been idle for idleTimeout (then
/// the file is closed, as in Flume), or not at all if it is completed before that.</para>
/// <para>Rotation: see <see cref="TaildirEventReader"/>: files are tracked by inode and held open, so rename-and-create
/// rotation, renames within the pattern, deletion and copytruncate neither lose nor repeat lines (except the lines a
/// copytruncate writes between its copy and its truncate, which no reader can see).</para>
/// </remarks>
public sealed class TaildirSource : IEventDrivenSource, IBatchSized, IAsyncDisposable
{
    /// <summary>Zooflow's default <c>maxLineLength</c>.</summary>
    public const int DefaultMaxLineLength = 16 * 1024 * 1024;

    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<FileGroup> _groups = [];
    private TaildirEventReader? _reader;
    private PositionFileWriter? _positions;
    private PositionFileWriter? _fingerprints;
    private IEventSink? _output;
    private Task? _loop;
    private long _eventsAccepted;
    private long _rounds;
    private int _started;

    /// <summary>Reads the keys listed in the remarks; every problem is recorded in <paramref name="context"/>.</summary>
    public TaildirSource(string name, ComponentContext context)
    {
        Name = name;
        _counter = context.Counters.Source(name);
        _clock = context.Clock;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.TaildirSource");
        CachePatternMatching = context.GetBool("cachePatternMatching", true);
        ReadFileGroups(context);
        var home = Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var positionFile = context.GetString("positionFile") ?? Path.Combine(home, ".flume", "taildir_position.json");
        if (string.IsNullOrWhiteSpace(positionFile))
        {
            PositionFile = "";
            context.AddError("positionFile", "is empty (allowed: a file path, e.g. /var/lib/flume/taildir_position.json)");
        }
        else
        {
            PositionFile = Path.GetFullPath(positionFile);
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(PositionFile)!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                context.AddError("positionFile", $"the directory of '{PositionFile}' cannot be created: {ex.Message}");
            }
            if (Directory.Exists(PositionFile))
            {
                context.AddError("positionFile", $"'{PositionFile}' is a directory (allowed: a file path)");
            }
        }
        BatchSize = context.GetInt("batchSize", 100, 1, 1_000_000);
        var maxBatchCount = context.GetLong("maxBatchCount", long.MaxValue);
        if (maxBatchCount <= 0)
        {
            _logger.LogWarning("Taildir source {Source}: maxBatchCount {Value} is not positive; using the default (unlimited), as Flume does", name, maxBatchCount);
            maxBatchCount = long.MaxValue;
        }
        MaxBatchCount = maxBatchCount;
        SkipToEnd = context.GetBool("skipToEnd", false);
        ByteOffsetHeader = context.GetBool("byteOffsetHeader", false);
        FileHeader = context.GetBool("fileHeader", false);
        FileHeaderKey = context.GetString("fileHeaderKey", "file")!;
        IdleTimeout = TimeSpan.FromMilliseconds(context.GetLong("idleTimeout", 120_000, 1));
        WritePosInterval = TimeSpan.FromMilliseconds(context.GetLong("writePosInterval", 3_000, 1));
        BackoffSleepIncrement = TimeSpan.FromMilliseconds(context.GetLong("backoffSleepIncrement", 50, 1));
        MaxBackoffSleep = TimeSpan.FromMilliseconds(context.GetLong("maxBackoffSleep", 250, 1));
        MaxLineLength = context.GetInt("maxLineLength", DefaultMaxLineLength, 1, int.MaxValue / 2);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary><c>positionFile</c>, absolute.</summary>
    public string PositionFile { get; }

    /// <summary>Most events per channel transaction (<c>batchSize</c>).</summary>
    public int BatchSize { get; }

    /// <summary><c>maxBatchCount</c>.</summary>
    public long MaxBatchCount { get; }

    /// <summary><c>skipToEnd</c>.</summary>
    public bool SkipToEnd { get; }

    /// <summary><c>byteOffsetHeader</c>.</summary>
    public bool ByteOffsetHeader { get; }

    /// <summary><c>fileHeader</c>.</summary>
    public bool FileHeader { get; }

    /// <summary><c>fileHeaderKey</c>.</summary>
    public string FileHeaderKey { get; }

    /// <summary><c>idleTimeout</c>.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary><c>writePosInterval</c>: how often the position file is made durable (fsync).</summary>
    public TimeSpan WritePosInterval { get; }

    /// <summary><c>cachePatternMatching</c>.</summary>
    public bool CachePatternMatching { get; }

    /// <summary><c>backoffSleepIncrement</c>.</summary>
    public TimeSpan BackoffSleepIncrement { get; }

    /// <summary><c>maxBackoffSleep</c>.</summary>
    public TimeSpan MaxBackoffSleep { get; }

    /// <summary><c>maxLineLength</c> (Zooflow extension).</summary>
    public int MaxLineLength { get; }

    /// <summary>The file groups in configuration order.</summary>
    internal IReadOnlyList<FileGroup> Groups => _groups;

    /// <summary>Events committed so far.</summary>
    public long EventsAccepted => Interlocked.Read(ref _eventsAccepted);

    /// <summary>Scan-and-read rounds completed (tests wait on it instead of sleeping).</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Truncations detected so far.</summary>
    public long Truncations => _reader?.Truncations ?? 0;

    /// <summary>copytruncate copies that supplied lines of a truncated file.</summary>
    public long CopiesAdopted => _reader?.CopiesAdopted ?? 0;

    /// <summary>Completes when the loop ended (after stop, or when it failed).</summary>
    public Task Completion => _loop ?? Task.CompletedTask;

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        foreach (var group in _groups)
        {
            if (!Directory.Exists(group.Directory))
            {
                throw new DirectoryNotFoundException($"Taildir source {Name}: directory of file group {group.Name} does not exist: {group.Directory}");
            }
        }
        var positions = LoadPositions();
        var fingerprints = LoadFingerprints();
        var ownFiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in new[] { PositionFile, FingerprintFile })
        {
            ownFiles.Add(file);
            ownFiles.Add(file + ".tmp");
            ownFiles.Add(PositionFileWriter.CheckpointPath(file));
        }
        _reader = new TaildirEventReader(Name, _groups, new TaildirReaderOptions(SkipToEnd, ByteOffsetHeader, FileHeader, FileHeaderKey, IdleTimeout, MaxLineLength, ownFiles), _clock, _logger);
        _positions = new PositionFileWriter(PositionFile);
        _fingerprints = new PositionFileWriter(FingerprintFile);
        try
        {
            _reader.Start(positions, fingerprints);
            WritePositions(durable: true, failOnError: true);
        }
        catch
        {
            // A failed start is retried by the supervisor with a new instance: release the descriptors now.
            _reader.Dispose();
            _positions.Dispose();
            _fingerprints.Dispose();
            _reader = null;
            _positions = null;
            _fingerprints = null;
            throw;
        }
        _logger.LogInformation("Taildir source {Source} started: {Groups} file groups, {Files} files, position file {PositionFile}",
            Name, _groups.Count, _reader.Files.Count, PositionFile);
        _loop = RunAsync(_stopping.Token);
        return Task.CompletedTask;
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
                _logger.LogWarning("Taildir source {Source}: did not finish within the stop timeout", Name);
            }
        }
        if (_reader is not null && _positions is not null)
        {
            WritePositions(durable: true);
        }
        _positions?.Dispose();
        _fingerprints?.Dispose();
        _reader?.Dispose();
        _logger.LogInformation("Taildir source {Source} stopped; {Events} events accepted", Name, EventsAccepted);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private IReadOnlyList<TaildirPosition> LoadPositions()
    {
        byte[] json;
        try
        {
            json = File.ReadAllBytes(PositionFile);
        }
        catch (FileNotFoundException)
        {
            _logger.LogInformation("Taildir source {Source}: no position file at {PositionFile}; starting fresh", Name, PositionFile);
            return [];
        }
        try
        {
            return TaildirPositionFile.Parse(json, PositionFile);
        }
        catch (FormatException ex)
        {
            _counter.AddGenericProcessingFail();
            var checkpoint = PositionFileWriter.CheckpointPath(PositionFile);
            try
            {
                var positions = TaildirPositionFile.Parse(File.ReadAllBytes(checkpoint), checkpoint);
                _logger.LogError("Taildir source {Source}: {Error}; using the last checkpoint {Checkpoint} (lines committed after it are delivered again)",
                    Name, ex.Message, checkpoint);
                return positions;
            }
            catch (Exception fallback) when (fallback is IOException or FormatException)
            {
                // As Flume: the source runs, files start from the beginning (or the end with skipToEnd).
                _logger.LogError("Taildir source {Source}: {Error}; no usable checkpoint either ({Fallback}); files start {Where}",
                    Name, ex.Message, fallback.Message, SkipToEnd ? "at their end" : "from the beginning");
                return [];
            }
        }
    }

    /// <summary>The fingerprint side file (Zooflow): what was read before each saved position.</summary>
    public string FingerprintFile => PositionFile + ".fingerprints";

    private IReadOnlyList<TaildirFingerprint> LoadFingerprints()
    {
        try
        {
            return TaildirPositionFile.ParseFingerprints(File.ReadAllBytes(FingerprintFile), FingerprintFile);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        catch (FormatException ex)
        {
            _logger.LogWarning("Taildir source {Source}: {Error}; positions are used without checking the files' content", Name, ex.Message);
            return [];
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        var reader = _reader!;
        var events = new List<Event>(Math.Min(BatchSize, 4096));
        var emptyRounds = 0L;
        var lastCheckpoint = _clock.GetTimestamp();
        var dirty = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            var delivered = 0L;
            try
            {
                reader.BeginRound();
                reader.Scan();
                foreach (var file in reader.FilesToRead())
                {
                    if (file.Handle is null || !reader.CheckFresh(file))
                    {
                        continue;
                    }
                    delivered += await TailAsync(reader, file, events, includePartial: false, cancellationToken).ConfigureAwait(false);
                }
                reader.SettleHeldCopies();
                var idle = reader.IdleFiles();
                foreach (var file in idle)
                {
                    delivered += await TailAsync(reader, file, events, includePartial: true, cancellationToken).ConfigureAwait(false);
                    reader.CloseIdle(file);
                }
                if (idle.Count > 0)
                {
                    WritePositions(); // files closed or dropped
                    dirty = true;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Taildir source {Source}: unable to tail files", Name);
                _counter.AddEventReadFail();
            }
            dirty |= delivered > 0;
            if (dirty && _clock.GetElapsedTime(lastCheckpoint) >= WritePosInterval)
            {
                WritePositions(durable: true);
                lastCheckpoint = _clock.GetTimestamp();
                dirty = false;
            }
            Interlocked.Increment(ref _rounds);
            if (delivered > 0)
            {
                emptyRounds = 0;
                continue;
            }
            emptyRounds++;
            var sleep = TimeSpan.FromTicks(Math.Min(BackoffSleepIncrement.Ticks * emptyRounds, MaxBackoffSleep.Ticks));
            try
            {
                await Task.Delay(sleep, _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Reads and delivers batches of <paramref name="file"/> until it has no more complete lines or
    /// maxBatchCount batches were delivered; returns the events delivered.</summary>
    private async Task<long> TailAsync(TaildirEventReader reader, TailedFile file, List<Event> events, bool includePartial, CancellationToken cancellationToken)
    {
        long delivered = 0;
        for (long batches = 0; batches < MaxBatchCount && file.Handle is not null; batches++)
        {
            events.Clear();
            ReadBatchResult batch;
            try
            {
                batch = reader.ReadBatch(file, events, BatchSize, includePartial);
            }
            catch (IOException ex)
            {
                _logger.LogWarning("Taildir source {Source}: cannot read {Path}: {Error}", Name, file.Path, ex.Message);
                _counter.AddEventReadFail();
                break;
            }
            if (batch.Outcome == ReadOutcome.Truncated)
            {
                reader.HandleTruncation(file);
                WritePositions();
                continue;
            }
            if (batch.Count == 0)
            {
                if (batch.End > file.Committed)
                {
                    reader.Commit(file, batch); // skipped a hole of NUL bytes
                }
                break;
            }
            await BackPressure.DeliverAsync(_output!, events, _counter, _logger, Name, cancellationToken).ConfigureAwait(false);
            reader.Commit(file, batch);
            WritePositions();
            delivered += batch.Count;
            Interlocked.Add(ref _eventsAccepted, batch.Count);
            if (batch.Count < BatchSize)
            {
                break;
            }
        }
        return delivered;
    }

    /// <summary>Writes the positions: in place after a commit, or durably (fsync + rename) at a checkpoint. The
    /// fingerprints go first: after a crash between the two writes, the fingerprint of the one file whose position moved
    /// does not match its saved position and is not used.</summary>
    private void WritePositions(bool durable = false, bool failOnError = false)
    {
        try
        {
            var prints = TaildirPositionFile.SerializeFingerprints(_reader!.Fingerprints());
            var json = TaildirPositionFile.Serialize(_reader.Positions());
            if (durable)
            {
                _fingerprints!.Checkpoint(prints);
                _positions!.Checkpoint(json);
            }
            else
            {
                _fingerprints!.Write(prints);
                _positions!.Write(json);
            }
        }
        catch (Exception ex) when (!failOnError && ex is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("Taildir source {Source}: cannot write the position file {PositionFile}: {Error}", Name, PositionFile, ex.Message);
            _counter.AddGenericProcessingFail();
        }
    }

    private void ReadFileGroups(ComponentContext context)
    {
        var names = context.GetRequiredString("filegroups").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (context.Properties.ContainsKey("filegroups") && names.Length == 0)
        {
            context.AddError("filegroups", "is empty (allowed: space-separated group names, e.g. f1 f2)");
        }
        var headers = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (key, value) in context.SubProperties("headers."))
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || dot == key.Length - 1)
            {
                context.AddError("headers." + key, "must be headers.<filegroup>.<header name>");
                continue;
            }
            var group = key[..dot];
            if (!names.Contains(group, StringComparer.Ordinal))
            {
                _logger.LogWarning("Taildir source {Source}: {Key} names file group {Group}, which is not in filegroups ({Groups}); ignored as in Flume",
                    context.Prefix.TrimEnd('.'), context.Prefix + "headers." + key, group, string.Join(" ", names));
                continue;
            }
            if (!headers.TryGetValue(group, out var map))
            {
                headers[group] = map = new Dictionary<string, string>(StringComparer.Ordinal);
            }
            map[key[(dot + 1)..]] = value.Value;
        }
        foreach (var (key, _) in context.SubProperties("filegroups."))
        {
            if (!names.Contains(key, StringComparer.Ordinal))
            {
                _logger.LogWarning("Taildir source {Source}: filegroups.{Group} is not listed in filegroups ({Groups}); ignored as in Flume",
                    context.Prefix.TrimEnd('.'), key, string.Join(" ", names));
            }
        }
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            var key = "filegroups." + name;
            var pattern = context.GetString(key);
            if (pattern is null)
            {
                context.AddError(key, $"is required for file group '{name}' (allowed: a directory and a file-name regex, e.g. /var/log/app/.*\\.log)");
                continue;
            }
            var fullPath = Path.GetFullPath(pattern.Trim());
            var directory = Path.GetDirectoryName(fullPath);
            var regex = Path.GetFileName(fullPath);
            if (string.IsNullOrEmpty(directory) || string.IsNullOrEmpty(regex))
            {
                context.AddError(key, $"'{pattern}' must be a directory followed by a file-name regex, e.g. /var/log/app/.*\\.log");
                continue;
            }
            System.Text.RegularExpressions.Regex compiled;
            try
            {
                compiled = FileGroup.CompileNamePattern(regex);
            }
            catch (ArgumentException ex)
            {
                context.AddError(key, $"'{regex}' is not a valid regular expression: {ex.Message}");
                continue;
            }
            if (!Directory.Exists(directory))
            {
                context.AddError(key, $"directory does not exist: {directory} (regular expressions are allowed in the file name only)");
                continue;
            }
            _groups.Add(new FileGroup(name, directory, compiled, headers.GetValueOrDefault(name) ?? new Dictionary<string, string>(0), CachePatternMatching));
        }
    }
}
