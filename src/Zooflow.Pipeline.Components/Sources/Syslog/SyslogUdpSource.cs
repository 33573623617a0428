using System.Net;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>
/// Flume's <c>syslogudp</c> source (<c>org.apache.flume.source.SyslogUDPSource</c>): one syslog message per datagram
/// (RFC 5426) received on <c>host</c>:<c>port</c>, parsed by <see cref="SyslogLineParser"/>.
/// </summary>
/// <remarks>
/// <para>Keys: <c>port</c> (required), <c>host</c>, <c>keepFields</c> none, <c>clientIPHeader</c>,
/// <c>clientHostnameHeader</c>, <c>batchSize</c> 100 (Zooflow extension: datagrams already queued are delivered together).
/// As in Flume there is no eventSize: a datagram (at most 64 KiB) is never cut.</para>
/// <para>A datagram holding several newline-separated lines gives one event per line; Flume keeps only the first line
/// and drops the rest. Empty datagrams are counted as EventReadFail and skipped (Flume fails them the same way).</para>
/// </remarks>
public sealed class SyslogUdpSource : SyslogSourceBase
{
    private readonly int _port;
    private readonly SyslogLineParser _parser;
    private EndPoint? _lastSender;
    private string? _lastSenderHostname;

    /// <summary>Reads the keys listed in the remarks.</summary>
    public SyslogUdpSource(string name, ComponentContext context)
        : base(name, context, "Zooflow.Pipeline.Components.SyslogUDPSource", 100)
    {
        _port = RequiredPort(context);
        _parser = new SyslogLineParser(KeepFields, Clock);
    }

    /// <inheritdoc />
    protected override async Task OpenAsync(CancellationToken stopping, CancellationToken cancellationToken)
    {
        var socket = await BindUdpAsync(Host, _port, cancellationToken).ConfigureAwait(false);
        ReceiveDatagrams(socket, BatchSize, Decode, stopping);
    }

    private void Decode(ReadOnlySpan<byte> datagram, EndPoint sender, List<Event> batch)
    {
        var lines = Lines(datagram);
        if (lines.Count == 0)
        {
            Counter.AddEventReadFail();
            return;
        }
        var clientIp = ClientIpHeader is null ? null : ClientIp(sender);
        var clientHostname = ClientHostnameHeader is null ? null : CachedHostname(sender);
        foreach (var line in lines)
        {
            batch.Add(ToEvent(_parser.Parse(line, incomplete: false), clientIp, clientHostname));
        }
    }

    /// <summary>The reverse lookup of the last sender, reused while datagrams keep coming from it (one lookup per
    /// sender change, on the receive loop; Flume looks up every datagram).</summary>
    private string CachedHostname(EndPoint sender)
    {
        if (_lastSenderHostname is null || !sender.Equals(_lastSender))
        {
            _lastSender = sender;
            _lastSenderHostname = ClientHostname(sender);
        }
        return _lastSenderHostname;
    }
}
