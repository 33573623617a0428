using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources;

/// <summary>
/// Flume's <c>netcat</c> source: listens on <c>bind</c>:<c>port</c> (TCP); every <c>\n</c>-terminated line is one event
/// whose body is the line without the <c>\n</c> (a <c>\r</c> before it is kept, as in Flume).
/// </summary>
/// <remarks>
/// <para>Keys: <c>bind</c> and <c>port</c> (required; port 0 picks a free port, see <see cref="NetworkSource.BoundPort"/>),
/// <c>max-line-length</c> 512 (bytes, including the newline), <c>ack-every-event</c> true, and the Zooflow extension
/// <c>batchSize</c> 100: the complete lines already received on one connection, up to this many, are delivered as one
/// channel transaction (Flume delivers one event per transaction, which is far slower). It must not exceed the channel's
/// transactionCapacity (memory channel default 100).</para>
/// <para>Acknowledgement: with ack-every-event, <c>OK\n</c> is written once per line only after the batch holding it was
/// committed to every required channel. A refused batch (channel full) is retried and the connection is not read meanwhile,
/// so the client is slowed down by TCP flow control; nothing is acknowledged or dropped. (Flume instead answers
/// <c>FAILED: ...</c> and drops the line.)</para>
/// <para>A line longer than max-line-length: the lines before it are delivered, then, as Flume does, the client gets
/// <c>FAILED: Event exceeds the maximum length (N chars, including newline)\n</c> and the connection is closed.
/// An unterminated last line at end of stream is discarded, as in Flume.</para>
/// <para>Hot path: one <see cref="PipeReader"/> per connection; the lines of a batch are copied into one array and each
/// event body is a slice of it (one allocation per batch for the bodies).</para>
/// </remarks>
public sealed class NetcatSource : NetworkSource, IBatchSized
{
    private const int ReadBufferBytes = 64 * 1024;
    private static readonly byte[] Ok = "OK\n"u8.ToArray();

    private readonly string _bind;
    private readonly int _port;
    private readonly bool _batchSizeConfigured;
    private byte[]? _acks;
    private long _eventsAccepted;
    private long _linesTooLong;

    /// <summary>Reads <c>bind</c>, <c>port</c>, <c>max-line-length</c>, <c>ack-every-event</c> and <c>batchSize</c>.</summary>
    public NetcatSource(string name, ComponentContext context)
        : base(name, context, "Zooflow.Pipeline.Components.NetcatSource")
    {
        _bind = context.GetRequiredString("bind");
        if (!context.Properties.ContainsKey("port"))
        {
            context.AddError("port", "is required but not set (allowed: 0..65535)");
        }
        _port = context.GetInt("port", 0, 0, 65535);
        MaxLineLength = context.GetInt("max-line-length", 512, 1, 64 * 1024 * 1024);
        AckEveryEvent = context.GetBool("ack-every-event", true);
        BatchSize = context.GetInt("batchSize", 100, 1, 1_000_000);
        _batchSizeConfigured = context.Properties.ContainsKey("batchSize");
    }

    /// <summary><c>max-line-length</c>: the longest accepted line in bytes, newline included.</summary>
    public int MaxLineLength { get; }

    /// <summary><c>ack-every-event</c>.</summary>
    public bool AckEveryEvent { get; }

    /// <summary>Most events per channel transaction (<c>batchSize</c>).</summary>
    public int BatchSize { get; }

    /// <summary>Events committed to the channels so far.</summary>
    public long EventsAccepted => Interlocked.Read(ref _eventsAccepted);

    /// <summary>Connections closed because a line exceeded max-line-length.</summary>
    public long LinesTooLong => Interlocked.Read(ref _linesTooLong);

    /// <summary>For validation against the channel's transactionCapacity: the configured <c>batchSize</c>, or 1 when
    /// it is not set (Flume puts one event per transaction; a default batch the channel refuses as too large is split).</summary>
    int IBatchSized.BatchSize => _batchSizeConfigured ? BatchSize : 1;

    /// <inheritdoc />
    protected override async Task OpenAsync(CancellationToken stopping, CancellationToken cancellationToken)
    {
        var listener = await ListenTcpAsync(_bind, _port, cancellationToken).ConfigureAwait(false);
        AcceptConnections(listener, HandleConnectionAsync, stopping);
    }

    private async Task HandleConnectionAsync(Socket client, CancellationToken cancellationToken)
    {
        var output = Downstream;
        client.NoDelay = true;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferBytes, minimumReadSize: ReadBufferBytes / 4, leaveOpen: true));
        var events = new List<Event>(Math.Min(BatchSize, 4096));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var tooLong = false;
                while (TryExtractBatch(ref buffer, events, out tooLong))
                {
                    await BackPressure.DeliverAsync(output, events, Counter, Logger, Name, cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref _eventsAccepted, events.Count);
                    if (AckEveryEvent)
                    {
                        await SendAcksAsync(client, events.Count, cancellationToken).ConfigureAwait(false);
                    }
                    events.Clear();
                    if (tooLong)
                    {
                        break;
                    }
                }
                if (tooLong || buffer.Length >= MaxLineLength)
                {
                    reader.AdvanceTo(buffer.Start);
                    await RejectLongLineAsync(client, cancellationToken).ConfigureAwait(false);
                    return;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    if (!buffer.IsEmpty)
                    {
                        Logger.LogDebug("Netcat source {Source}: discarded {Bytes} bytes of an unterminated last line", Name, buffer.Length);
                    }
                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes up to <see cref="BatchSize"/> complete lines from the front of <paramref name="buffer"/> into
    /// <paramref name="events"/> and moves <paramref name="buffer"/> past them. <paramref name="tooLong"/> is set when the
    /// next line exceeds <see cref="MaxLineLength"/> (the lines before it are still returned).
    /// </summary>
    internal bool TryExtractBatch(ref ReadOnlySequence<byte> buffer, List<Event> events, out bool tooLong)
    {
        tooLong = false;
        var reader = new SequenceReader<byte>(buffer);
        var lines = 0;
        long end = 0;
        while (lines < BatchSize)
        {
            var lineStart = reader.Consumed;
            if (!reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
            {
                break;
            }
            if (reader.Consumed - lineStart > MaxLineLength)
            {
                tooLong = true;
                break;
            }
            lines++;
            end = reader.Consumed;
        }
        if (lines == 0)
        {
            return false;
        }
        var block = new byte[end];
        buffer.Slice(0, end).CopyTo(block);
        var position = 0;
        for (var i = 0; i < lines; i++)
        {
            var length = block.AsSpan(position).IndexOf((byte)'\n');
            events.Add(new Event(new ReadOnlyMemory<byte>(block, position, length)));
            position += length + 1;
        }
        buffer = buffer.Slice(end);
        return true;
    }

    private ValueTask<int> SendAcksAsync(Socket client, int count, CancellationToken cancellationToken)
    {
        var acks = _acks;
        if (acks is null || acks.Length < count * Ok.Length)
        {
            acks = new byte[Math.Max(count, BatchSize) * Ok.Length];
            for (var i = 0; i < acks.Length; i += Ok.Length)
            {
                Ok.CopyTo(acks, i);
            }
            _acks = acks;
        }
        return SendAllAsync(client, acks.AsMemory(0, count * Ok.Length), cancellationToken);
    }

    private static async ValueTask<int> SendAllAsync(Socket client, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < data.Length)
        {
            total += await client.SendAsync(data[total..], SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        return total;
    }

    private async Task RejectLongLineAsync(Socket client, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _linesTooLong);
        Counter.AddEventReadFail();
        Logger.LogWarning("Netcat source {Source}: client sent an event exceeding the maximum length ({Max} bytes); closing the connection", Name, MaxLineLength);
        var message = Encoding.UTF8.GetBytes($"FAILED: Event exceeds the maximum length ({MaxLineLength} chars, including newline)\n");
        await SendAllAsync(client, message, cancellationToken).ConfigureAwait(false);
        client.Shutdown(SocketShutdown.Send);
    }
}
