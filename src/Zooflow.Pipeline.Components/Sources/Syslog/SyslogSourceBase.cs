using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>
/// Keys shared by Flume's three syslog sources: <c>host</c> (bind address, default all interfaces), <c>keepFields</c>,
/// <c>clientIPHeader</c>, <c>clientHostnameHeader</c>, and the Zooflow extension <c>batchSize</c> (events per channel
/// transaction; Flume's syslogtcp/syslogudp put one event per transaction).
/// </summary>
/// <remarks>
/// <para>Delivery: messages go through <see cref="BackPressure"/>: when the channel refuses a batch it is retried and the
/// connection is not read meanwhile (TCP flow control slows the sender). Flume drops the event and counts a
/// ChannelWriteFail instead.</para>
/// <para>Refused with a clear error: <c>format.*</c> (custom Java regular expressions and SimpleDateFormat patterns) and
/// <c>ssl = true</c> (TLS syslog is not built yet; use a TLS-terminating relay).</para>
/// </remarks>
public abstract class SyslogSourceBase : NetworkSource, IBatchSized
{
    private readonly bool _batchSizeConfigured;

    /// <summary>Reads the shared keys.</summary>
    private protected SyslogSourceBase(string name, ComponentContext context, string loggerCategory, int defaultBatchSize)
        : base(name, context, loggerCategory)
    {
        Host = context.GetString("host") ?? "0.0.0.0";
        KeepFields = SyslogKeepFields.FromContext(context);
        ClientIpHeader = context.GetString("clientIPHeader");
        ClientHostnameHeader = context.GetString("clientHostnameHeader");
        BatchSize = context.GetInt("batchSize", defaultBatchSize, 1, 1_000_000);
        _batchSizeConfigured = context.Properties.ContainsKey("batchSize");
        Clock = context.Clock;
        foreach (var key in context.Properties.Keys)
        {
            if (key.StartsWith("format.", StringComparison.Ordinal))
            {
                context.AddError(key, "custom syslog formats (format.regex/search/replace/dateFormat) are not supported; Zooflow parses RFC 3164 and RFC 5424 as Flume's built-in formats do");
            }
        }
        if (context.GetBool("ssl", false))
        {
            context.AddError("ssl", "TLS for syslog sources is not supported yet (allowed: false); terminate TLS in front of the agent");
        }
    }

    /// <summary><c>host</c>: the address to bind.</summary>
    public string Host { get; }

    /// <summary><c>batchSize</c> (Zooflow extension for syslogtcp/syslogudp, Flume's key for multiport_syslogtcp).</summary>
    public int BatchSize { get; }

    /// <summary><c>clientIPHeader</c>: header receiving the sender's IP address, or null.</summary>
    public string? ClientIpHeader { get; }

    /// <summary><c>clientHostnameHeader</c>: header receiving the sender's host name (reverse lookup), or null.</summary>
    public string? ClientHostnameHeader { get; }

    private protected SyslogKeepFields KeepFields { get; }

    private protected TimeProvider Clock { get; }

    /// <summary>The configured batch size, or 1 when only Flume's one-event transactions are configured.</summary>
    int IBatchSized.BatchSize => _batchSizeConfigured || DeclaresBatchSize ? BatchSize : 1;

    /// <summary>True when <c>batchSize</c> is a Flume key of this source (validated even when left at its default).</summary>
    private protected virtual bool DeclaresBatchSize => false;

    /// <summary>Java's <c>InetAddress.getHostAddress()</c> of a sender: <c>127.0.0.1</c>.</summary>
    private protected static string ClientIp(EndPoint? remote) => remote is IPEndPoint ip ? ip.Address.ToString() : "";

    /// <summary>The sender's host name by reverse lookup, or its address when the lookup fails (as Java's getHostName).</summary>
    private protected static async Task<string> ClientHostnameAsync(EndPoint? remote, CancellationToken cancellationToken)
    {
        if (remote is not IPEndPoint ip)
        {
            return "";
        }
        try
        {
            var entry = await Dns.GetHostEntryAsync(ip.Address.ToString(), cancellationToken).ConfigureAwait(false);
            return string.IsNullOrEmpty(entry.HostName) ? ip.Address.ToString() : entry.HostName;
        }
        catch (SocketException)
        {
            return ip.Address.ToString();
        }
    }

    /// <summary>Reads a required single <c>port</c>.</summary>
    private protected static int RequiredPort(ComponentContext context)
    {
        if (!context.Properties.ContainsKey("port"))
        {
            context.AddError("port", "is required but not set (allowed: 0..65535)");
        }
        return context.GetInt("port", 0, 0, 65535);
    }

    /// <summary>The non-empty <c>\n</c>-separated lines of one datagram.</summary>
    internal static List<byte[]> Lines(ReadOnlySpan<byte> datagram)
    {
        var lines = new List<byte[]>(1);
        while (!datagram.IsEmpty)
        {
            var newline = datagram.IndexOf((byte)'\n');
            var line = newline >= 0 ? datagram[..newline] : datagram;
            if (!line.IsEmpty)
            {
                lines.Add(line.ToArray());
            }
            datagram = newline >= 0 ? datagram[(newline + 1)..] : [];
        }
        return lines;
    }

    /// <summary>The sender's host name by reverse lookup (blocking; Flume does it per datagram too).</summary>
    private protected static string ClientHostname(EndPoint? remote)
    {
        if (remote is not IPEndPoint ip)
        {
            return "";
        }
        try
        {
            var entry = Dns.GetHostEntry(ip.Address);
            return string.IsNullOrEmpty(entry.HostName) ? ip.Address.ToString() : entry.HostName;
        }
        catch (SocketException)
        {
            return ip.Address.ToString();
        }
    }

    /// <summary>Adds the client headers to a parsed message and makes the event.</summary>
    private protected Event ToEvent(SyslogMessage message, string? clientIp, string? clientHostname)
    {
        if (ClientIpHeader is not null && clientIp is not null)
        {
            message.Headers[ClientIpHeader] = clientIp;
        }
        if (ClientHostnameHeader is not null && clientHostname is not null)
        {
            message.Headers[ClientHostnameHeader] = clientHostname;
        }
        if (message.Headers.TryGetValue(SyslogHeaders.Status, out var status))
        {
            Counter.AddEventReadFail();
            Logger.LogDebug("Source {Source}: {Status} syslog message of {Bytes} bytes", Name, status, message.Body.Length);
        }
        return new Event(message.Body, message.Headers);
    }
}

/// <summary>
/// The TCP half of the syslog sources: one task per connection reads through a <see cref="PipeReader"/>, cuts frames with
/// <see cref="SyslogFramer"/> (eventSize), parses them with <see cref="Parse"/>, and delivers the messages already
/// received, up to <see cref="SyslogSourceBase.BatchSize"/>, as one channel transaction.
/// </summary>
public abstract class SyslogStreamSource : SyslogSourceBase
{
    private const int ReadBufferBytes = 64 * 1024;

    /// <summary>Flume's floor for eventSize (<c>SyslogUtils.MIN_SIZE</c>).</summary>
    private const int MinEventSize = 10;

    private protected SyslogStreamSource(string name, ComponentContext context, string loggerCategory, int defaultBatchSize)
        : base(name, context, loggerCategory, defaultBatchSize)
    {
        var eventSize = context.GetInt("eventSize", 2500, 1, 64 * 1024 * 1024);
        EventSize = Math.Max(eventSize, MinEventSize);
    }

    /// <summary><c>eventSize</c> (default 2500, at least 10 as in Flume): the longest message in bytes.</summary>
    public int EventSize { get; }

    /// <summary>Parses one frame received on <paramref name="localPort"/>.</summary>
    private protected abstract SyslogMessage Parse(byte[] frame, bool incomplete, int localPort);

    /// <summary>Headers every event of a connection gets besides the client ones (e.g. the port header).</summary>
    private protected virtual void AddConnectionHeaders(Dictionary<string, string> headers, int localPort)
    {
    }

    /// <summary>Serves one connection until it closes or the source stops.</summary>
    private protected async Task HandleConnectionAsync(Socket client, CancellationToken cancellationToken)
    {
        var output = Downstream;
        var localPort = (client.LocalEndPoint as IPEndPoint)?.Port ?? 0;
        var clientIp = ClientIpHeader is null ? null : ClientIp(client.RemoteEndPoint);
        var clientHostname = ClientHostnameHeader is null ? null : await ClientHostnameAsync(client.RemoteEndPoint, cancellationToken).ConfigureAwait(false);
        await using var stream = new NetworkStream(client, ownsSocket: false);
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferBytes, minimumReadSize: ReadBufferBytes / 4, leaveOpen: true));
        var framer = new SyslogFramer(EventSize);
        var events = new List<Event>(Math.Min(BatchSize, 4096));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                var endOfStream = result.IsCompleted || result.IsCanceled;
                while (framer.TryRead(ref buffer, endOfStream, out var frame, out var incomplete))
                {
                    var message = Parse(frame, incomplete, localPort);
                    AddConnectionHeaders(message.Headers, localPort);
                    events.Add(ToEvent(message, clientIp, clientHostname));
                    if (events.Count >= BatchSize)
                    {
                        await BackPressure.DeliverAsync(output, events, Counter, Logger, Name, cancellationToken).ConfigureAwait(false);
                        events.Clear();
                    }
                }
                if (events.Count > 0)
                {
                    await BackPressure.DeliverAsync(output, events, Counter, Logger, Name, cancellationToken).ConfigureAwait(false);
                    events.Clear();
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (endOfStream)
                {
                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Splits the text of a port list (<c>10001 10002</c>).</summary>
    private protected static List<int> ParsePorts(ComponentContext context, string key)
    {
        var ports = new List<int>();
        var raw = context.GetString(key);
        if (raw is null)
        {
            context.AddError(key, "is required but not set (allowed: space-separated ports 0..65535)");
            return ports;
        }
        foreach (var part in raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                context.AddError(key, $"'{raw}': '{part}' is not a port (allowed: space-separated ports 0..65535)");
                continue;
            }
            ports.Add(port);
        }
        if (ports.Count == 0 && raw.Trim().Length == 0)
        {
            context.AddError(key, "is empty (allowed: space-separated ports 0..65535)");
        }
        return ports;
    }
}
