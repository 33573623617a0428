using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Serializers;

namespace Zooflow.Pipeline.Components.Sinks.Hdfs;

/// <summary>
/// Flume's <c>hdfs</c> sink (<c>org.apache.flume.sink.hdfs.HDFSEventSink</c>) writing to the local file system:
/// <c>hdfs.path = file:///data/%Y/%m/%d</c> (or a plain absolute path). Events are bucketed by the escaped path and file
/// prefix, each bucket has one open file (<see cref="BucketWriter"/>), and files roll by interval, size, count and idle
/// time exactly where Flume rolls them.
/// </summary>
/// <remarks>
/// <para>Keys (Flume's defaults): <c>hdfs.path</c> (required; <c>file://</c> or absolute; an <c>hdfs://</c> or other
/// URI is refused), <c>hdfs.filePrefix</c> FlumeData, <c>hdfs.fileSuffix</c> "", <c>hdfs.inUsePrefix</c> "",
/// <c>hdfs.inUseSuffix</c> .tmp, <c>hdfs.emptyInUseSuffix</c> false, <c>hdfs.rollInterval</c> 30 s,
/// <c>hdfs.rollSize</c> 1024 bytes of bodies, <c>hdfs.rollCount</c> 10 events (0 disables each), <c>hdfs.idleTimeout</c> 0 s,
/// <c>hdfs.batchSize</c> 100, <c>hdfs.fileType</c> DataStream | CompressedStream (Flume's default SequenceFile is refused
/// with a message), <c>hdfs.codeC</c> gzip (CompressedStream only), <c>hdfs.maxOpenFiles</c> 5000 (least recently used
/// closed beyond it), <c>hdfs.round</c>/<c>roundValue</c>/<c>roundUnit</c>, <c>hdfs.timeZone</c>,
/// <c>hdfs.useLocalTimeStamp</c>, <c>serializer</c> TEXT | HEADER_AND_TEXT | AVRO_EVENT with <c>serializer.*</c>.
/// Accepted and ignored (logged): <c>hdfs.callTimeout</c>, <c>hdfs.threadsPoolSize</c>, <c>hdfs.rollTimerPoolSize</c>,
/// <c>hdfs.closeTries</c>, <c>hdfs.retryInterval</c>, <c>hdfs.minBlockReplicas</c>, <c>hdfs.useRawLocalFileSystem</c>,
/// <c>hdfs.writeFormat</c>, <c>hdfs.kerberosPrincipal</c>, <c>hdfs.kerberosKeytab</c>, <c>hdfs.proxyUser</c>.
/// Zooflow extension: <c>hdfs.fsync</c> false (fsync every batch, not only every roll).</para>
/// <para>Transactions: the batch's events are written, every touched file is flushed (see <see cref="BucketWriter.Flush"/>),
/// and only then does the take commit. An I/O failure rolls back and abandons the touched files (their in-use files are
/// renamed at the next start). A time escape without a timestamp header fails the batch, as in Flume.</para>
/// <para>Leftover in-use files: at start, every file under the literal part of hdfs.path whose name this sink would
/// have written as in-use is closed: a trailing partial line is cut (text serializers with newlines), the file is
/// fsynced and renamed, each logged. A file another process (or writer) still has open is skipped: writers hold a
/// shared <c>flock</c>, which a crashed agent no longer does.</para>
/// </remarks>
public sealed class HdfsEventSink : BatchSink
{
    private static readonly TimeSpan TimerTick = TimeSpan.FromMilliseconds(200);

    private static readonly string[] IgnoredKeys =
    [
        "hdfs.callTimeout", "hdfs.threadsPoolSize", "hdfs.rollTimerPoolSize", "hdfs.closeTries", "hdfs.retryInterval",
        "hdfs.minBlockReplicas", "hdfs.useRawLocalFileSystem", "hdfs.writeFormat", "hdfs.kerberosPrincipal",
        "hdfs.kerberosKeytab", "hdfs.proxyUser",
    ];

    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly BucketPath _path;
    private readonly BucketPath _filePrefix;
    private readonly BucketFileSettings _fileSettings;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, LinkedListNode<BucketWriter>> _writers = new(StringComparer.Ordinal);
    private readonly LinkedList<BucketWriter> _recentlyUsed = new();
    private readonly HashSet<BucketWriter> _touched = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<string> _ignoredKeys = [];
    private Task? _timerLoop;

    /// <summary>Reads and validates the keys listed in the remarks.</summary>
    public HdfsEventSink(string name, ComponentContext context)
        : base(name, context.GetInt("hdfs.batchSize", 100, 1, 1_000_000), context)
    {
        _clock = context.Clock;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.HdfsEventSink");
        var host = AgentHost.Lookup();
        var pathText = ValidatePath(context);
        _path = Compile(context, "hdfs.path", pathText, host);
        _filePrefix = Compile(context, "hdfs.filePrefix", context.GetString("hdfs.filePrefix", "FlumeData")!, host);
        var fileSuffix = context.GetString("hdfs.fileSuffix", "")!;
        var inUsePrefix = context.GetString("hdfs.inUsePrefix", "")!;
        var inUseSuffix = context.GetBool("hdfs.emptyInUseSuffix", false) ? "" : context.GetString("hdfs.inUseSuffix", ".tmp")!;
        RollInterval = TimeSpan.FromSeconds(context.GetLong("hdfs.rollInterval", 30, 0));
        IdleTimeout = TimeSpan.FromSeconds(context.GetInt("hdfs.idleTimeout", 0, 0));
        MaxOpenFiles = context.GetInt("hdfs.maxOpenFiles", 5000, 1);
        var rollSize = context.GetLong("hdfs.rollSize", 1024, 0);
        var rollCount = context.GetLong("hdfs.rollCount", 10, 0);

        var fileType = context.GetString("hdfs.fileType", "SequenceFile")!;
        var codec = context.GetString("hdfs.codeC");
        var gzip = false;
        if (fileType.Equals("DataStream", StringComparison.OrdinalIgnoreCase))
        {
            if (codec is not null)
            {
                context.AddError("hdfs.codeC", $"'{codec}' cannot be used with hdfs.fileType = DataStream, which does NOT support compressed output (as in Flume); use hdfs.fileType = CompressedStream");
            }
        }
        else if (fileType.Equals("CompressedStream", StringComparison.OrdinalIgnoreCase))
        {
            if (codec is null)
            {
                context.AddError("hdfs.codeC", "is required when hdfs.fileType = CompressedStream (allowed: gzip)");
            }
            else if (codec.Trim().ToLowerInvariant() is "gzip" or "gzipcodec" or "org.apache.hadoop.io.compress.gzipcodec")
            {
                gzip = true;
            }
            else
            {
                context.AddError("hdfs.codeC", $"'{codec}' is not supported (allowed: gzip; Hadoop's bzip2, lzo, lzop, snappy and deflate framings are not written by Zooflow)");
            }
        }
        else
        {
            context.AddError("hdfs.fileType", $"'{fileType}' is not supported{(context.Properties.ContainsKey("hdfs.fileType") ? "" : " (it is Flume's default)")}: Zooflow writes DataStream and CompressedStream only, not Hadoop SequenceFiles (allowed: DataStream, CompressedStream)");
        }
        var round = context.GetBool("hdfs.round", false);
        var unit = context.GetChoice("hdfs.roundUnit", "second", "second", "minute", "hour") switch
        {
            "hour" => RoundUnit.Hour,
            "minute" => RoundUnit.Minute,
            _ => RoundUnit.Second,
        };
        var roundValue = context.GetInt("hdfs.roundValue", 1, 1, unit == RoundUnit.Hour ? 24 : 60);
        Escapes = new EscapeSettings(TimeZoneOf(context), round, roundValue, unit, context.GetBool("hdfs.useLocalTimeStamp", false));
        var serializer = EventSerializerFactory.FromContext(context, "serializer");
        _fileSettings = new BucketFileSettings(inUsePrefix, inUseSuffix, fileSuffix.Length > 0 ? fileSuffix : gzip ? ".gz" : "",
            rollSize, rollCount, gzip, context.GetBool("hdfs.fsync", false), serializer);
        foreach (var key in IgnoredKeys)
        {
            if (context.Properties.ContainsKey(key))
            {
                _ignoredKeys.Add(key);
            }
        }
    }

    /// <inheritdoc />
    public override string BatchSizeKey => "hdfs.batchSize";

    /// <summary>hdfs.rollInterval; zero disables.</summary>
    public TimeSpan RollInterval { get; }

    /// <summary>hdfs.idleTimeout; zero disables.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>hdfs.maxOpenFiles.</summary>
    public int MaxOpenFiles { get; }

    /// <summary>The time-escape settings.</summary>
    public EscapeSettings Escapes { get; }

    /// <summary>The in-use paths of the files open now (for tests and diagnostics).</summary>
    public IReadOnlyList<string> OpenFiles
    {
        get
        {
            _lock.Wait();
            try
            {
                return _recentlyUsed.Where(w => w.IsOpen).Select(w => w.InUsePath).ToArray();
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_ignoredKeys.Count > 0)
        {
            _logger.LogWarning("HDFS sink {Sink}: {Keys} apply to Hadoop and are ignored when writing the local file system", Name, string.Join(", ", _ignoredKeys));
        }
        RecoverInUseFiles();
        _timerLoop = RunTimersAsync(_stopping.Token);
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_timerLoop is not null)
        {
            await _timerLoop.ConfigureAwait(false);
        }
        await _lock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            foreach (var writer in _recentlyUsed)
            {
                CloseQuietly(writer);
            }
            _writers.Clear();
            _recentlyUsed.Clear();
        }
        finally
        {
            _lock.Release();
        }
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("HDFS sink {Sink} stopped; {Events} events written", Name, EventsDrained);
    }

    /// <summary>Closes the files whose rollInterval or idleTimeout has passed (the timer calls this; tests may too).</summary>
    internal async Task CloseExpiredAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var node = _recentlyUsed.First; node is not null;)
            {
                var next = node.Next;
                var writer = node.Value;
                var expired = writer.IsOpen && (RollInterval > TimeSpan.Zero && _clock.GetElapsedTime(writer.OpenedAt) >= RollInterval
                    || IdleTimeout > TimeSpan.Zero && _clock.GetElapsedTime(writer.LastFlushAt) >= IdleTimeout);
                if (expired)
                {
                    CloseQuietly(writer);
                    _writers.Remove(Key(writer.Directory, writer.FileName));
                    _recentlyUsed.Remove(node);
                }
                node = next;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <inheritdoc />
    protected override async ValueTask BeforeBatchAsync(CancellationToken cancellationToken) =>
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override void AfterBatch()
    {
        _touched.Clear();
        _lock.Release();
    }

    /// <inheritdoc />
    protected override void Write(Event @event)
    {
        var nowMs = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var directory = _path.Resolve(@event.Headers, Escapes, nowMs);
        var fileName = _filePrefix.Resolve(@event.Headers, Escapes, nowMs);
        var writer = WriterFor(directory, fileName, nowMs);
        writer.Append(@event);
        _touched.Add(writer);
    }

    /// <inheritdoc />
    protected override ValueTask CompleteBatchAsync(CancellationToken cancellationToken)
    {
        foreach (var writer in _touched)
        {
            writer.Flush();
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override void OnBatchFailed(Exception exception)
    {
        _logger.LogWarning("HDFS sink {Sink}: batch failed and was rolled back: {Error}", Name, exception.Message);
        if (exception is IOException or UnauthorizedAccessException)
        {
            foreach (var writer in _touched)
            {
                writer.Abandon();
                if (_writers.Remove(Key(writer.Directory, writer.FileName), out var node))
                {
                    _recentlyUsed.Remove(node);
                }
            }
        }
    }

    private static string Key(string directory, string fileName) => directory + "/" + fileName;

    private BucketWriter WriterFor(string directory, string fileName, long nowMs)
    {
        var key = Key(directory, fileName);
        if (_writers.TryGetValue(key, out var node))
        {
            _recentlyUsed.Remove(node);
            _recentlyUsed.AddFirst(node);
            return node.Value;
        }
        var writer = new BucketWriter(directory, fileName, nowMs, _fileSettings, _clock, Counter, _logger);
        node = _recentlyUsed.AddFirst(writer);
        _writers[key] = node;
        while (_writers.Count > MaxOpenFiles && _recentlyUsed.Last is { } eldest)
        {
            _logger.LogInformation("HDFS sink {Sink}: more than hdfs.maxOpenFiles = {Max} open; closing the least recently used", Name, MaxOpenFiles);
            CloseQuietly(eldest.Value);
            _writers.Remove(Key(eldest.Value.Directory, eldest.Value.FileName));
            _recentlyUsed.RemoveLast();
        }
        return writer;
    }

    private void CloseQuietly(BucketWriter writer)
    {
        try
        {
            writer.Close();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Counter.ConnectionFailed();
            _logger.LogWarning("HDFS sink {Sink}: closing {File} failed: {Error}; it is renamed at the next start", Name, writer.InUsePath, ex.Message);
            writer.Abandon();
        }
    }

    private async Task RunTimersAsync(CancellationToken cancellationToken)
    {
        if (RollInterval <= TimeSpan.Zero && IdleTimeout <= TimeSpan.Zero)
        {
            return;
        }
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimerTick, cancellationToken).ConfigureAwait(false);
                await CloseExpiredAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Closes the in-use files a crashed run left behind (see the remarks).</summary>
    internal void RecoverInUseFiles()
    {
        var settings = _fileSettings;
        if (settings.InUsePrefix.Length == 0 && settings.InUseSuffix.Length == 0)
        {
            _logger.LogInformation("HDFS sink {Sink}: in-use files have no prefix or suffix, so leftovers cannot be told from closed files; none are recovered", Name);
            return;
        }
        var literal = _path.LiteralPrefix();
        var root = _path.IsLiteral ? literal : literal[..(literal.LastIndexOf('/') + 1)];
        if (root.Length == 0 || !Directory.Exists(root))
        {
            return;
        }
        var pattern = new Regex("^(?<dir>" + _path.ToPattern() + ")/" + Regex.Escape(settings.InUsePrefix)
            + "(?<name>" + _filePrefix.ToPattern() + @"\.[0-9]+" + Regex.Escape(settings.FileSuffix) + ")" + Regex.Escape(settings.InUseSuffix) + "$",
            RegexOptions.CultureInvariant);
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        foreach (var file in Directory.EnumerateFiles(root, "*", options))
        {
            var match = pattern.Match(file);
            if (match.Success)
            {
                RecoverOne(file, Path.Combine(match.Groups["dir"].Value, match.Groups["name"].Value));
            }
        }
    }

    private void RecoverOne(string inUse, string final)
    {
        if (File.Exists(final))
        {
            _logger.LogWarning("HDFS sink {Sink}: leftover in-use file {File} not renamed: {Final} already exists", Name, inUse, final);
            return;
        }
        long trimmed;
        try
        {
            // FileShare.None takes an exclusive flock: it fails while a live writer holds the file.
            using var stream = new FileStream(inUse, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            trimmed = TrimPartialLine(stream);
            stream.Flush(flushToDisk: true);
        }
        catch (IOException ex)
        {
            _logger.LogInformation("HDFS sink {Sink}: {File} is in use by a live writer or unreadable, left alone: {Error}", Name, inUse, ex.Message);
            return;
        }
        File.Move(inUse, final, overwrite: false);
        _logger.LogWarning("HDFS sink {Sink}: closed leftover in-use file {File} from an earlier run as {Final}{Trimmed}", Name, inUse, final,
            trimmed > 0 ? $" (cut a partial last line of {trimmed.ToString(CultureInfo.InvariantCulture)} bytes)" : "");
    }

    /// <summary>For text output with newlines (not gzip), cuts bytes after the last newline: the tail of a batch that
    /// never committed (it is delivered again). Returns the bytes cut.</summary>
    private long TrimPartialLine(FileStream stream)
    {
        if (_fileSettings.Gzip || _fileSettings.Serializer.Name is not ("text" or "header_and_text") || !_fileSettings.Serializer.AppendsNewline || stream.Length == 0)
        {
            return 0;
        }
        var length = stream.Length;
        var buffer = new byte[64 * 1024];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            stream.Position = start;
            stream.ReadExactly(buffer, 0, (int)(end - start));
            var newline = buffer.AsSpan(0, (int)(end - start)).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                var keep = start + newline + 1;
                stream.SetLength(keep);
                return length - keep;
            }
            end = start;
        }
        stream.SetLength(0);
        return length;
    }

    private static string ValidatePath(ComponentContext context)
    {
        var raw = context.GetRequiredString("hdfs.path").Trim();
        if (raw.Length == 0)
        {
            return "";
        }
        string path;
        if (raw.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = raw["file://".Length..];
            if (rest.StartsWith("localhost/", StringComparison.OrdinalIgnoreCase))
            {
                rest = rest["localhost".Length..];
            }
            if (!rest.StartsWith('/'))
            {
                context.AddError("hdfs.path", $"'{raw}': a file URI must name an absolute local path (allowed: file:///dir/..., /dir/...)");
                return "";
            }
            path = rest;
        }
        else if (raw.StartsWith("file:/", StringComparison.OrdinalIgnoreCase))
        {
            path = raw["file:".Length..];
        }
        else if (Regex.IsMatch(raw, "^[A-Za-z][A-Za-z0-9+.-]*://"))
        {
            context.AddError("hdfs.path", $"'{raw}': HDFS itself (and any other remote file system) is not supported; Zooflow's hdfs sink writes the local file system (allowed: file:///dir/..., /dir/...)");
            return "";
        }
        else if (raw.StartsWith('/'))
        {
            path = raw;
        }
        else
        {
            context.AddError("hdfs.path", $"'{raw}' is a relative path (allowed: file:///dir/..., /dir/...)");
            return "";
        }
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    private static BucketPath Compile(ComponentContext context, string key, string template, AgentHost host)
    {
        var path = BucketPath.Parse(template, host, out var error);
        if (error is not null)
        {
            context.AddError(key, error);
        }
        return path;
    }

    /// <summary>hdfs.timeZone: an IANA id (tzdata), UTC/GMT, or GMT±hh[:mm]; absent = the agent's zone. Java silently
    /// falls back to GMT for an unknown id; this is a configuration error instead.</summary>
    private static TimeZoneInfo TimeZoneOf(ComponentContext context)
    {
        var id = context.GetString("hdfs.timeZone");
        if (id is null)
        {
            return context.Clock.LocalTimeZone;
        }
        var custom = Regex.Match(id.Trim(), @"^(?:GMT|UTC)(?<sign>[+-])(?<h>\d{1,2})(?::?(?<m>\d{2}))?$");
        if (custom.Success)
        {
            var offset = new TimeSpan(int.Parse(custom.Groups["h"].Value, CultureInfo.InvariantCulture),
                custom.Groups["m"].Success ? int.Parse(custom.Groups["m"].Value, CultureInfo.InvariantCulture) : 0, 0);
            if (custom.Groups["sign"].Value == "-")
            {
                offset = -offset;
            }
            if (offset.Duration() <= TimeSpan.FromHours(14))
            {
                return TimeZoneInfo.CreateCustomTimeZone(id, offset, id, id);
            }
        }
        if (id.Trim() is "UTC" or "GMT" or "Z")
        {
            return TimeZoneInfo.Utc;
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            context.AddError("hdfs.timeZone", $"'{id}' is not a known time zone (allowed: an IANA id such as America/Los_Angeles, UTC, or GMT+hh:mm)");
            return TimeZoneInfo.Utc;
        }
    }
}
