using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>
/// Flume's <c>syslogtcp</c> source (<c>org.apache.flume.source.SyslogTcpSource</c>): newline-framed (and RFC 6587
/// octet-counted) syslog over TCP on <c>host</c>:<c>port</c>, parsed by <see cref="SyslogLineParser"/> into Flume's
/// headers.
/// </summary>
/// <remarks>Keys: <c>port</c> (required; 0 picks a free port), <c>host</c>, <c>eventSize</c> 2500, <c>keepFields</c>
/// none, <c>clientIPHeader</c>, <c>clientHostnameHeader</c>, and <c>batchSize</c> 100 (Zooflow extension).</remarks>
public sealed class SyslogTcpSource : SyslogStreamSource
{
    private readonly int _port;
    private readonly SyslogLineParser _parser;

    /// <summary>Reads the keys listed in the remarks.</summary>
    public SyslogTcpSource(string name, ComponentContext context)
        : base(name, context, "Zooflow.Pipeline.Components.SyslogTcpSource", 100)
    {
        _port = RequiredPort(context);
        _parser = new SyslogLineParser(KeepFields, Clock);
    }

    /// <inheritdoc />
    protected override async Task OpenAsync(CancellationToken stopping, CancellationToken cancellationToken)
    {
        var listener = await ListenTcpAsync(Host, _port, cancellationToken).ConfigureAwait(false);
        AcceptConnections(listener, HandleConnectionAsync, stopping);
    }

    private protected override SyslogMessage Parse(byte[] frame, bool incomplete, int localPort) => _parser.Parse(frame, incomplete);
}
