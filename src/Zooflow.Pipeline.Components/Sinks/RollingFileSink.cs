using System.Globalization;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Serializers;

namespace Zooflow.Pipeline.Components.Sinks;

/// <summary>
/// Flume's <c>file_roll</c> sink (<c>RollingFileSink</c>): writes events to files in <c>sink.directory</c>, starting a new
/// file every <c>sink.rollInterval</c> seconds.
/// </summary>
/// <remarks>
/// <para>Keys (Flume's defaults): <c>sink.directory</c> (required; created when missing); <c>sink.rollInterval</c> 30 s
/// (0 = never roll); <c>sink.batchSize</c> 100; <c>sink.pathManager</c> DEFAULT with <c>sink.pathManager.prefix</c> ""
/// and <c>sink.pathManager.extension</c> ""; <c>sink.serializer</c> TEXT (<c>sink.serializer.appendNewline</c> true) |
/// HEADER_AND_TEXT | AVRO_EVENT (<c>sink.serializer.syncIntervalBytes</c> 2048000,
/// <c>sink.serializer.compressionCodec</c> null|deflate). Zooflow extension: <c>sink.fsync</c> false — when true, each
/// batch is fsynced (not only flushed to the OS) before the take commits.</para>
/// <para>File names, as Flume's DefaultPathManager: <c>&lt;prefix&gt;&lt;startMillis&gt;-&lt;n&gt;[.&lt;extension&gt;]</c> where
/// startMillis is the time the sink was created and n counts files from 1. As in Flume, the next file is opened at the
/// first process call after a roll, so an idle sink leaves empty files.</para>
/// <para>Delivery: a batch is written and flushed to the file before the take transaction commits; if opening, writing or
/// flushing fails, the batch is rolled back into the channel, the file is closed and the next attempt opens a new one
/// (duplicates are possible in the old file, losses are not).</para>
/// </remarks>
public sealed class RollingFileSink : BatchSink
{
    private const int FileBufferBytes = 1 << 20;

    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly EventSerializerFactory _serializerFactory;
    private readonly long _seriesTimestamp;
    private FileStream? _stream;
    private IEventSerializer? _serializer;
    private long _openedAt;
    private int _fileIndex;

    /// <summary>Reads the keys listed in the remarks.</summary>
    public RollingFileSink(string name, ComponentContext context)
        : base(name, context.GetInt("sink.batchSize", 100, 1, 1_000_000), context)
    {
        _timeProvider = context.Clock;
        Directory = context.GetRequiredString("sink.directory");
        if (context.Properties.ContainsKey("sink.directory") && string.IsNullOrWhiteSpace(Directory))
        {
            context.AddError("sink.directory", "is empty (allowed: a directory path)");
        }
        RollInterval = TimeSpan.FromSeconds(context.GetLong("sink.rollInterval", 30, 0));
        context.GetChoice("sink.pathManager", "DEFAULT", "DEFAULT");
        Prefix = context.GetString("sink.pathManager.prefix", "")!;
        Extension = context.GetString("sink.pathManager.extension", "")!;
        Fsync = context.GetBool("sink.fsync", false);
        _serializerFactory = EventSerializerFactory.FromContext(context, "sink.serializer");
        _seriesTimestamp = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.RollingFileSink");
    }

    /// <inheritdoc />
    public override string BatchSizeKey => "sink.batchSize";

    /// <summary><c>sink.directory</c>.</summary>
    public string Directory { get; }

    /// <summary><c>sink.rollInterval</c>; zero = never roll.</summary>
    public TimeSpan RollInterval { get; }

    /// <summary><c>sink.pathManager.prefix</c>.</summary>
    public string Prefix { get; }

    /// <summary><c>sink.pathManager.extension</c>.</summary>
    public string Extension { get; }

    /// <summary><c>sink.fsync</c> (Zooflow extension).</summary>
    public bool Fsync { get; }

    /// <summary>The serializer name (text, header_and_text, avro_event).</summary>
    public string Serializer => _serializerFactory.Name;

    /// <summary>The file being written, or null.</summary>
    public string? CurrentFile { get; private set; }

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not fatal: each batch retries opening a file (and fails over / backs off meanwhile).
            _logger.LogWarning("File roll sink {Sink}: cannot create directory {Directory}: {Error}", Name, Directory, ex.Message);
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        CloseFile();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("File roll sink {Sink} stopped; {Events} events written", Name, EventsDrained);
    }

    /// <summary>The path of file number <paramref name="index"/>.</summary>
    internal string FileName(int index) =>
        Path.Combine(Directory, Prefix + _seriesTimestamp.ToString(CultureInfo.InvariantCulture) + "-" + index.ToString(CultureInfo.InvariantCulture)
            + (Extension.Length == 0 ? "" : "." + Extension));

    /// <inheritdoc />
    protected override ValueTask BeforeBatchAsync(CancellationToken cancellationToken)
    {
        if (_stream is not null && RollInterval > TimeSpan.Zero && _timeProvider.GetElapsedTime(_openedAt) >= RollInterval)
        {
            CloseFile();
        }
        if (_stream is null)
        {
            OpenFile();
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override void Write(Event @event) => _serializer!.Write(@event);

    /// <inheritdoc />
    protected override ValueTask CompleteBatchAsync(CancellationToken cancellationToken)
    {
        _serializer!.Flush();
        _stream!.Flush(flushToDisk: Fsync);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override void OnBatchFailed(Exception exception)
    {
        _logger.LogWarning("File roll sink {Sink}: batch failed and was rolled back: {Error}", Name, exception.Message);
        CloseFile();
    }

    private void OpenFile()
    {
        var path = FileName(++_fileIndex);
        FileStream stream;
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, FileBufferBytes);
        }
        catch
        {
            Counter.ConnectionFailed();
            throw;
        }
        Counter.ConnectionCreated();
        try
        {
            var serializer = _serializerFactory.Create(stream);
            serializer.AfterCreate();
            _serializer = serializer;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        _stream = stream;
        CurrentFile = path;
        _openedAt = _timeProvider.GetTimestamp();
        _logger.LogDebug("File roll sink {Sink}: writing {File}", Name, path);
    }

    private void CloseFile()
    {
        var stream = _stream;
        if (stream is null)
        {
            return;
        }
        _stream = null;
        CurrentFile = null;
        Counter.ConnectionClosed();
        try
        {
            _serializer?.BeforeClose();
            stream.Flush(flushToDisk: Fsync);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _logger.LogWarning("File roll sink {Sink}: closing the file failed: {Error}", Name, ex.Message);
        }
        finally
        {
            _serializer = null;
            stream.Dispose();
        }
    }
}
