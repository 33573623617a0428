using System.Globalization;
using System.IO.Compression;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Serializers;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sinks.Hdfs;

/// <summary>The file settings every <see cref="BucketWriter"/> of one sink shares.</summary>
internal sealed record BucketFileSettings(
    string InUsePrefix,
    string InUseSuffix,
    string FileSuffix,
    long RollSizeBytes,
    long RollCount,
    bool Gzip,
    bool FsyncEachBatch,
    EventSerializerFactory Serializer);

/// <summary>
/// Flume's <c>BucketWriter</c> on the local file system: the one open file of a resolved path
/// (<c>&lt;directory&gt;/&lt;filePrefix&gt;</c>), opened at the first append, rolled by count or size before an append (so
/// no file is ever empty), written as <c>inUsePrefix + name + inUseSuffix</c> and renamed to <c>name</c> when closed.
/// </summary>
/// <remarks>
/// <para>File names: <c>&lt;filePrefix&gt;.&lt;counter&gt;&lt;fileSuffix or .gz&gt;</c>, the counter starting at the clock's
/// epoch milliseconds when the writer is created and incremented per file, as in Flume. A name whose final or in-use file
/// already exists is skipped (Flume would overwrite it).</para>
/// <para>Durability: <see cref="Flush"/> at the end of every batch hands the bytes to the operating system (and, for
/// gzip, ends the gzip member, so the file is a valid multi-member gzip after every batch) before the take commits:
/// a killed agent loses nothing it committed. With <c>hdfs.fsync</c> each batch is also fsynced. Closing (roll, idle,
/// interval, stop) always fsyncs before the rename.</para>
/// <para>Not thread-safe: the sink calls it under its lock.</para>
/// </remarks>
internal sealed class BucketWriter(
    string directory,
    string fileName,
    long counterStart,
    BucketFileSettings settings,
    TimeProvider clock,
    SinkCounter counter,
    ILogger logger)
{
    private const int FileBufferBytes = 1 << 20;

    private long _counter = counterStart;
    private FileStream? _file;
    private GzipMembers? _gzip;
    private IEventSerializer? _serializer;
    private string _inUsePath = "";
    private string _finalPath = "";
    private long _events;
    private long _bodyBytes;
    private bool _dirty;

    /// <summary>The resolved directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>The resolved file prefix.</summary>
    public string FileName { get; } = fileName;

    /// <summary>True while a file is open.</summary>
    public bool IsOpen => _file is not null;

    /// <summary>The in-use path of the open file.</summary>
    public string InUsePath => _inUsePath;

    /// <summary>Clock timestamp of the last open.</summary>
    public long OpenedAt { get; private set; }

    /// <summary>Clock timestamp of the last flush (or open).</summary>
    public long LastFlushAt { get; private set; }

    /// <summary>Appends one event, opening or rolling the file first when needed.</summary>
    public void Append(Event @event)
    {
        if (_file is null)
        {
            Open();
        }
        else if (settings.RollCount > 0 && _events >= settings.RollCount || settings.RollSizeBytes > 0 && _bodyBytes >= settings.RollSizeBytes)
        {
            Close();
            Open();
        }
        _serializer!.Write(@event);
        _events++;
        _bodyBytes += @event.Body.Length;
        _dirty = true;
    }

    /// <summary>Pushes what was appended to the operating system (ending the gzip member); fsyncs with hdfs.fsync.</summary>
    public void Flush()
    {
        if (_file is null || !_dirty)
        {
            return;
        }
        _serializer!.Flush();
        _gzip?.EndMember();
        _file.Flush(flushToDisk: settings.FsyncEachBatch);
        _dirty = false;
        LastFlushAt = clock.GetTimestamp();
    }

    /// <summary>Finishes, fsyncs and closes the file, then renames it to its final name. Safe to call when closed.</summary>
    public void Close()
    {
        var file = _file;
        if (file is null)
        {
            return;
        }
        _file = null;
        try
        {
            _serializer!.Flush();
            _serializer.BeforeClose();
            _gzip?.EndMember();
            file.Flush(flushToDisk: true);
            counter.ConnectionClosed();
        }
        finally
        {
            _serializer = null;
            _gzip = null;
            file.Dispose();
        }
        if (_inUsePath == _finalPath)
        {
            return;
        }
        try
        {
            File.Move(_inUsePath, _finalPath, overwrite: false);
            logger.LogInformation("HDFS sink: closed {File}", _finalPath);
        }
        catch (IOException ex)
        {
            counter.ConnectionFailed();
            logger.LogWarning("HDFS sink: cannot rename {InUse} to {Final}: {Error}; it is renamed at the next start", _inUsePath, _finalPath, ex.Message);
        }
    }

    /// <summary>Closes without renaming or flushing more (after a failed write the file is left for recovery).</summary>
    public void Abandon()
    {
        var file = _file;
        _file = null;
        _serializer = null;
        _gzip = null;
        try
        {
            file?.Dispose();
        }
        catch (IOException ex)
        {
            logger.LogWarning("HDFS sink: closing {File} after a failure failed too: {Error}", _inUsePath, ex.Message);
        }
    }

    private void Open()
    {
        FileStream? file = null;
        for (var attempt = 0; file is null; attempt++)
        {
            var name = FileName + "." + (++_counter).ToString(CultureInfo.InvariantCulture) + settings.FileSuffix;
            _finalPath = Path.Combine(Directory, name);
            _inUsePath = Path.Combine(Directory, settings.InUsePrefix + name + settings.InUseSuffix);
            if (File.Exists(_finalPath) && attempt < 1000)
            {
                continue;
            }
            try
            {
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(_inUsePath)!);
                file = new FileStream(_inUsePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, FileBufferBytes);
            }
            catch (IOException) when (File.Exists(_inUsePath) && attempt < 1000)
            {
                // Taken by an earlier writer of the same path: next counter.
            }
            catch
            {
                counter.ConnectionFailed();
                throw;
            }
        }
        try
        {
            Stream payload = file;
            if (settings.Gzip)
            {
                _gzip = new GzipMembers(file);
                payload = _gzip;
            }
            var serializer = settings.Serializer.Create(payload);
            serializer.AfterCreate();
            _serializer = serializer;
        }
        catch
        {
            file.Dispose();
            throw;
        }
        _file = file;
        _events = 0;
        _bodyBytes = 0;
        _dirty = true;
        OpenedAt = LastFlushAt = clock.GetTimestamp();
        counter.ConnectionCreated();
        logger.LogInformation("HDFS sink: creating {File}", _inUsePath);
    }
}

/// <summary>
/// A write-only stream that gzips into an underlying stream as a series of gzip members: <see cref="EndMember"/> writes
/// the current member's trailer, and the next write starts a new member (RFC 1952 §2.2 allows any number of members;
/// gzip -d and Hadoop's GzipCodec read them as one stream). Flume's HDFSCompressedDataStream does the same with
/// finish()/resetState() at every sync.
/// </summary>
internal sealed class GzipMembers(Stream inner) : Stream
{
    private GZipStream? _member;

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Ends the current member (if any bytes were written to it).</summary>
    public void EndMember()
    {
        _member?.Dispose();
        _member = null;
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }
        _member ??= new GZipStream(inner, CompressionLevel.Fastest, leaveOpen: true);
        _member.Write(buffer);
    }

    /// <inheritdoc />
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc />
    public override void Flush()
    {
        // The serializers flush after every batch; ending the member is the sink's decision (EndMember).
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            EndMember();
        }
        base.Dispose(disposing);
    }
}
