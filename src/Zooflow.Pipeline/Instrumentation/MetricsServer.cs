using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Zooflow.Pipeline.Instrumentation;

/// <summary>Renders counters in Flume's JSON shape and in Prometheus text format.</summary>
public static class MetricsFormatter
{
    /// <summary>Flume's <c>/metrics</c> body: <c>{"SOURCE.r1":{"EventReceivedCount":"10",...},...}</c>, every value a string.</summary>
    public static string ToFlumeJson(CounterRegistry counters)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            foreach (var (key, counter) in counters.All())
            {
                writer.WriteStartObject(key);
                foreach (var (name, value) in counter.Snapshot())
                {
                    writer.WriteString(name, value);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Prometheus text exposition (version 0.0.4): one gauge per Flume attribute, named
    /// <c>flume_&lt;type&gt;_&lt;attribute in snake case&gt;</c> with a <c>name</c> label, e.g.
    /// <c>flume_source_event_received_count{name="r1"} 10</c>.</summary>
    public static string ToPrometheus(CounterRegistry counters)
    {
        var byMetric = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (_, counter) in counters.All())
        {
            foreach (var (name, value) in counter.Snapshot())
            {
                if (name == "Type")
                {
                    continue;
                }
                var metric = $"flume_{counter.Type.ToLowerInvariant()}_{SnakeCase(name)}";
                if (!byMetric.TryGetValue(metric, out var lines))
                {
                    byMetric[metric] = lines = [];
                }
                var number = value == "1.7976931348623157E308" ? "+Inf" : value;
                lines.Add($"{metric}{{name=\"{Escape(counter.Name)}\"}} {number}");
            }
        }
        var sb = new StringBuilder();
        foreach (var (metric, lines) in byMetric)
        {
            sb.Append("# TYPE ").Append(metric).Append(" gauge\n");
            foreach (var line in lines)
            {
                sb.Append(line).Append('\n');
            }
        }
        return sb.ToString();
    }

    internal static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}

/// <summary>
/// Flume's HTTP monitoring (<c>-Dflume.monitoring.type=http -Dflume.monitoring.port=N</c>): a minimal HTTP/1.1 server
/// on a <see cref="TcpListener"/> (no ASP.NET) serving <c>GET /metrics</c> (JSON, Flume's shape) and
/// <c>GET /metrics/prometheus</c>. As in Flume's Jetty handler, TRACE and OPTIONS get 403 and unknown paths 404.
/// One request per connection (<c>Connection: close</c>).
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 16 * 1024;
    private readonly TcpListener _listener;
    private readonly CounterRegistry _counters;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _acceptLoop = Task.CompletedTask;

    /// <summary>Creates a server for <paramref name="endpoint"/> (port 0 picks a free port).</summary>
    public MetricsServer(IPEndPoint endpoint, CounterRegistry counters, ILogger? logger = null)
    {
        _listener = new TcpListener(endpoint);
        _counters = counters;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The bound endpoint (after <see cref="Start"/>).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Binds and starts accepting.</summary>
    public void Start()
    {
        _listener.Start();
        _acceptLoop = AcceptLoopAsync(_stop.Token);
        _logger.LogInformation(new EventId(2601, "MetricsStarted"), "Metrics served at http://{Endpoint}/metrics", LocalEndPoint);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client, cancellationToken), CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using var _ = client;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var stream = client.GetStream();
            var buffer = new byte[MaxRequestBytes];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                read += n;
                if (buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8) >= 0)
                {
                    break;
                }
            }
            var head = Encoding.ASCII.GetString(buffer, 0, read);
            var lineEnd = head.IndexOf('\r', StringComparison.Ordinal);
            var parts = (lineEnd < 0 ? head : head[..lineEnd]).Split(' ');
            var method = parts.Length > 0 ? parts[0] : "";
            var path = parts.Length > 1 ? parts[1].Split('?')[0] : "/";
            var (status, contentType, body) = Route(method, path);
            var bytes = method == "HEAD" ? [] : Encoding.UTF8.GetBytes(body);
            var header = $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(header), timeout.Token).ConfigureAwait(false);
            await stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
            await stream.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug(new EventId(2602, "MetricsRequestFailed"), ex, "Metrics request failed");
        }
    }

    private (string Status, string ContentType, string Body) Route(string method, string path)
    {
        if (method is "TRACE" or "OPTIONS")
        {
            return ("403 Forbidden", "text/plain;charset=utf-8", "Forbidden\n");
        }
        if (method is not ("GET" or "HEAD"))
        {
            return ("405 Method Not Allowed", "text/plain;charset=utf-8", "Method Not Allowed\n");
        }
        return path switch
        {
            "/metrics" or "/metrics/" => ("200 OK", "application/json;charset=utf-8", MetricsFormatter.ToFlumeJson(_counters)),
            "/metrics/prometheus" => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", MetricsFormatter.ToPrometheus(_counters)),
            "/" => ("200 OK", "text/html;charset=utf-8", "<html><body><a href=\"/metrics\">Metrics</a> <a href=\"/metrics/prometheus\">Prometheus</a></body></html>\n"),
            _ => ("404 Not Found", "text/plain;charset=utf-8", "Not Found\n"),
        };
    }
}
