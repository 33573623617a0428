using System.Text;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Serializers;

namespace Zooflow.Pipeline.Components.Sinks;

/// <summary>
/// Flume's <c>logger</c> sink: logs each event at Information as
/// <c>Event: { headers:{k=v} body: 61 62 63 ... abc }</c>, the body shown as a hex dump of at most
/// <c>maxBytesToLog</c> (default 16) bytes in the layout of commons-io <c>HexDump</c>, exactly as Flume's
/// <c>EventHelper.dumpEvent</c> prints it. One event per take transaction, as in Flume.
/// </summary>
/// <remarks>This sink exists to log payloads for debugging, which is why it is the one place that prints body bytes.</remarks>
public sealed class LoggerSink : BatchSink
{
    private const string HexDumpOffset = "00000000";
    private readonly ILogger _logger;

    /// <summary>Reads <c>maxBytesToLog</c>.</summary>
    public LoggerSink(string name, ComponentContext context) : base(name, 1, context)
    {
        MaxBytesToLog = context.GetInt("maxBytesToLog", 16, 0);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.LoggerSink");
    }

    /// <summary><c>maxBytesToLog</c>.</summary>
    public int MaxBytesToLog { get; }

    /// <inheritdoc />
    protected override void Write(Event @event)
    {
        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.LogInformation("Event: {Event}", DumpEvent(@event, MaxBytesToLog));
        }
    }

    /// <summary>Flume's <c>EventHelper.dumpEvent(event, maxBytes)</c>.</summary>
    internal static string DumpEvent(Event @event, int maxBytes)
    {
        var body = @event.Body.Span;
        var dump = "";
        if (body.Length > 0 && maxBytes > 0)
        {
            dump = HexDump(body[..Math.Min(body.Length, maxBytes)]);
            if (dump.StartsWith(HexDumpOffset, StringComparison.Ordinal))
            {
                dump = dump[HexDumpOffset.Length..];
            }
            if (dump.EndsWith('\n') && dump.Length > 1)
            {
                dump = dump[..^1];
            }
        }
        return "{ headers:" + JavaFormat.Map(@event.Headers) + " body:" + dump + " }";
    }

    /// <summary>commons-io <c>HexDump.dump(data, 0, out, 0)</c>: per 16 bytes, an 8-digit offset, 16 upper-case hex
    /// pairs each followed by a space (blank when past the end), the printable characters (others as '.'), newline.</summary>
    internal static string HexDump(ReadOnlySpan<byte> data)
    {
        var builder = new StringBuilder();
        for (var row = 0; row < data.Length; row += 16)
        {
            var count = Math.Min(16, data.Length - row);
            builder.Append(row.ToString("X8", System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
            for (var k = 0; k < 16; k++)
            {
                if (k < count)
                {
                    builder.Append(data[row + k].ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    builder.Append("  ");
                }
                builder.Append(' ');
            }
            for (var k = 0; k < count; k++)
            {
                var b = data[row + k];
                builder.Append(b >= ' ' && b < 127 ? (char)b : '.');
            }
            builder.Append('\n');
        }
        return builder.ToString();
    }
}
