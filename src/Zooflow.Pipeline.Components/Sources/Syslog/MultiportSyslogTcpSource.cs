using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>
/// Flume's <c>multiport_syslogtcp</c> source (<c>org.apache.flume.source.MultiportSyslogTCPSource</c>): newline-framed
/// (and RFC 6587 octet-counted) syslog over TCP on every port of <c>ports</c>, parsed by
/// <see cref="MultiportSyslogParser"/> with a character set per port.
/// </summary>
/// <remarks>
/// Keys: <c>ports</c> (required, space-separated; 0 picks a free port), <c>host</c>, <c>eventSize</c> 2500,
/// <c>keepFields</c> none, <c>portHeader</c>, <c>clientIPHeader</c>, <c>clientHostnameHeader</c>,
/// <c>charset.default</c> UTF-8, <c>charset.port.&lt;port&gt;</c>, <c>batchSize</c> 100 (validated against the
/// channel's transactionCapacity as in Flume). <c>readBufferBytes</c>/<c>readBufferSize</c> and <c>numProcessors</c>
/// tune Apache Mina in Flume; they are validated and otherwise ignored (the reads here are sized by System.IO.Pipelines).
/// </remarks>
public sealed class MultiportSyslogTcpSource : SyslogStreamSource
{
    private readonly List<int> _ports;
    private readonly MultiportSyslogParser _parser;
    private readonly Encoding _defaultCharset;
    private readonly Dictionary<int, Encoding> _portCharsets = [];
    private readonly Dictionary<int, int> _boundToConfigured = [];

    /// <summary>Reads the keys listed in the remarks.</summary>
    public MultiportSyslogTcpSource(string name, ComponentContext context)
        : base(name, context, "Zooflow.Pipeline.Components.MultiportSyslogTCPSource", 100)
    {
        _ports = ParsePorts(context, "ports");
        PortHeader = context.GetString("portHeader");
        _defaultCharset = Charsets.Strict(context, "charset.default", "UTF-8");
        foreach (var (key, value) in context.SubProperties("charset.port."))
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                context.AddError("charset.port." + key, $"'{key}' is not a port number (allowed: charset.port.<0..65535> = <charset>)");
                continue;
            }
            _portCharsets[port] = Charsets.Strict(context, "charset.port." + key, value.Value);
        }
        context.GetInt("readBufferBytes", 1024, 1, 64 * 1024 * 1024);
        context.GetInt("readBufferSize", 1024, 1, 64 * 1024 * 1024);
        context.GetInt("numProcessors", Environment.ProcessorCount, 1, 4096);
        _parser = new MultiportSyslogParser(KeepFields, Clock);
    }

    /// <summary><c>portHeader</c>: header receiving the local port of the connection, or null.</summary>
    public string? PortHeader { get; }

    /// <summary>The configured ports.</summary>
    public IReadOnlyList<int> Ports => _ports;

    private protected override bool DeclaresBatchSize => true;

    /// <inheritdoc />
    protected override async Task OpenAsync(CancellationToken stopping, CancellationToken cancellationToken)
    {
        foreach (var port in _ports)
        {
            var listener = await ListenTcpAsync(Host, port, cancellationToken).ConfigureAwait(false);
            var bound = ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port;
            lock (_boundToConfigured)
            {
                _boundToConfigured[bound] = port;
            }
            AcceptConnections(listener, HandleConnectionAsync, stopping);
        }
        Logger.LogInformation("Multiport syslog source {Source} listening on {Ports}", Name, string.Join(" ", BoundPorts));
    }

    private protected override SyslogMessage Parse(byte[] frame, bool incomplete, int localPort) =>
        _parser.Parse(frame, CharsetOf(localPort), incomplete);

    private protected override void AddConnectionHeaders(Dictionary<string, string> headers, int localPort)
    {
        if (PortHeader is not null)
        {
            headers[PortHeader] = localPort.ToString(CultureInfo.InvariantCulture);
        }
    }

    private Encoding CharsetOf(int localPort)
    {
        int configured;
        lock (_boundToConfigured)
        {
            configured = _boundToConfigured.GetValueOrDefault(localPort, localPort);
        }
        return _portCharsets.GetValueOrDefault(localPort) ?? _portCharsets.GetValueOrDefault(configured) ?? _defaultCharset;
    }
}

/// <summary>Java charset names to strict .NET encodings (invalid input throws instead of becoming U+FFFD).</summary>
internal static class Charsets
{
    /// <summary>Resolves the charset named by <paramref name="key"/> (or <paramref name="name"/>), recording an error when unknown.</summary>
    public static Encoding Strict(ComponentContext context, string key, string name)
    {
        var value = context.GetString(key, name)!.Trim();
        if (TryGet(value, out var encoding))
        {
            return encoding;
        }
        context.AddError(key, $"'{value}' is not a known character set (allowed e.g. UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-16BE, UTF-16LE, UTF-32, windows-1252)");
        return TryGet("UTF-8", out var utf8) ? utf8 : Encoding.UTF8;
    }

    /// <summary>Java's names: UTF-16 and UTF-32 without a suffix are big-endian as in Java.</summary>
    public static bool TryGet(string name, out Encoding encoding)
    {
        var exception = DecoderFallback.ExceptionFallback;
        var encoderFallback = EncoderFallback.ExceptionFallback;
        switch (name.ToUpperInvariant())
        {
            case "UTF-8" or "UTF8":
                encoding = new UTF8Encoding(false, true);
                return true;
            case "UTF-16" or "UTF-16BE":
                encoding = new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true);
                return true;
            case "UTF-16LE":
                encoding = new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true);
                return true;
            case "UTF-32" or "UTF-32BE":
                encoding = new UTF32Encoding(bigEndian: true, byteOrderMark: false, throwOnInvalidCharacters: true);
                return true;
            case "UTF-32LE":
                encoding = new UTF32Encoding(bigEndian: false, byteOrderMark: false, throwOnInvalidCharacters: true);
                return true;
        }
        try
        {
            encoding = Encoding.GetEncoding(name, encoderFallback, exception);
            return true;
        }
        catch (ArgumentException)
        {
        }
        var provided = CodePagesEncodingProvider.Instance.GetEncoding(name, encoderFallback, exception);
        encoding = provided!;
        return provided is not null;
    }
}
