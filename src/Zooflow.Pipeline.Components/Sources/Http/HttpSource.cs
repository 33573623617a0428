using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Instrumentation;

namespace Zooflow.Pipeline.Components.Sources.Http;

/// <summary>
/// Flume's <c>http</c> source (<c>org.apache.flume.source.http.HTTPSource</c>) on Kestrel (HTTP/1.1 with keep-alive,
/// chunked bodies, 100-continue): every POST (or GET) to any path is turned into events by the handler, and all events of
/// one request are put in one channel transaction.
/// </summary>
/// <remarks>
/// <para>Status codes, as Flume: 200 when the events are committed; 400 when the handler rejects the request
/// (bad JSON: nothing of that request is put); 503 when the channel refuses the batch (full), so clients retry; 500 for an
/// unexpected failure. TRACE and OPTIONS get 403 (Flume's security constraint), other methods 405. Zooflow adds 413 for
/// a body larger than <c>maxRequestBytes</c> (default 100000000; Flume reads any size into memory).</para>
/// <para>Keys: <c>port</c> (required; 0 picks a free port), <c>bind</c> 0.0.0.0, <c>handler</c>
/// (<c>org.apache.flume.source.http.JSONHandler</c> default, <c>org.apache.flume.source.http.BLOBHandler</c> with
/// <c>handler.mandatoryParameters</c>, <c>org.apache.flume.sink.solr.morphline.BlobHandler</c> with
/// <c>handler.maxBlobLength</c>), TLS: <c>ssl</c> (or the deprecated <c>enableSSL</c>), <c>keystore</c>,
/// <c>keystore-password</c> (<c>keystorePassword</c>), <c>keystore-type</c> (a PKCS12 file; JKS files cannot be read and
/// are refused with the keytool command that converts them), <c>include-protocols</c>, <c>exclude-protocols</c>
/// (<c>excludeProtocols</c>). Jetty's <c>QueuedThreadPool.*</c>, <c>HttpConfiguration.*</c>, <c>ServerConnector.*</c>,
/// <c>SslContextFactory.*</c> and the cipher-suite lists are accepted and logged as ignored.</para>
/// </remarks>
public sealed class HttpSource : IEventDrivenSource, IAsyncDisposable
{
    private const int DefaultMaxRequestBytes = 100_000_000;

    private static readonly string[] IgnoredPrefixes = ["QueuedThreadPool.", "HttpConfiguration.", "ServerConnector.", "SslContextFactory."];

    private readonly ILogger _logger;
    private readonly SourceCounter _counter;
    private readonly string _bind;
    private readonly int _port;
    private readonly X509Certificate2? _certificate;
    private readonly SslProtocols _protocols;
    private readonly List<string> _ignoredKeys = [];
    private IEventSink? _output;
    private WebApplication? _server;
    private int _started;

    /// <summary>Reads and validates the keys listed in the remarks (the keystore is loaded here, as Flume does).</summary>
    public HttpSource(string name, ComponentContext context)
    {
        Name = name;
        _counter = context.Counters.Source(name);
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Pipeline.Components.HTTPSource");
        if (!context.Properties.ContainsKey("port"))
        {
            context.AddError("port", "is required but not set (HTTPSource requires a port number to be specified; allowed: 0..65535)");
        }
        _port = context.GetInt("port", 0, 0, 65535);
        _bind = context.GetString("bind", "0.0.0.0")!.Trim();
        if (_bind.Length == 0)
        {
            context.AddError("bind", "is empty (HTTPSource hostname specified is empty)");
        }
        MaxRequestBytes = context.GetInt("maxRequestBytes", DefaultMaxRequestBytes, 1);
        Handler = CreateHandler(context);
        if (Handler is MorphlineBlobHandler blob)
        {
            MaxRequestBytes = Math.Max(MaxRequestBytes, blob.MaxBlobLength + 1);
        }
        var ssl = context.Properties.ContainsKey("ssl") ? context.GetBool("ssl", false) : context.GetBool("enableSSL", false);
        (_certificate, _protocols) = ssl ? LoadTls(context) : (null, SslProtocols.None);
        foreach (var key in context.Properties.Keys)
        {
            if (IgnoredPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)) || key is "include-cipher-suites" or "exclude-cipher-suites")
            {
                _ignoredKeys.Add(key);
            }
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The handler turning requests into events.</summary>
    public IHttpSourceHandler Handler { get; }

    /// <summary>The largest request body accepted (413 beyond it).</summary>
    public int MaxRequestBytes { get; }

    /// <summary>True when serving HTTPS.</summary>
    public bool Tls => _certificate is not null;

    /// <summary>The port actually bound; 0 before start.</summary>
    public int BoundPort { get; private set; }

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"Source {Name} was already started");
        }
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        if (_ignoredKeys.Count > 0)
        {
            _logger.LogWarning("HTTP source {Source}: Jetty-specific keys {Keys} are ignored (Kestrel serves this source)", Name, string.Join(", ", _ignoredKeys));
        }
        var endPoint = await Endpoints.ResolveAsync(_bind, _port, cancellationToken).ConfigureAwait(false);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Zooflow.HttpSource" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = MaxRequestBytes;
            options.Listen(endPoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (_certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = _certificate, SslProtocols = _protocols });
                }
            });
        });
        var server = builder.Build();
        server.Run(HandleAsync);
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        _server = server;
        var address = server.Urls.FirstOrDefault() ?? "";
        BoundPort = Uri.TryCreate(address, UriKind.Absolute, out var uri) ? uri.Port : 0;
        _logger.LogInformation("HTTP source {Source} listening on {Address}", Name, address);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var server = Interlocked.Exchange(ref _server, null);
        if (server is null)
        {
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await server.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("HTTP source {Source}: requests did not finish within the stop timeout", Name);
        }
        await server.DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation("HTTP source {Source} stopped; {Events} events accepted", Name, _counter.EventAcceptedCount);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _certificate?.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Method is "TRACE" or "OPTIONS")
        {
            await ReplyAsync(context, StatusCodes.Status403Forbidden, $"{request.Method} is not allowed").ConfigureAwait(false);
            return;
        }
        if (request.Method is not ("POST" or "GET"))
        {
            context.Response.Headers.Allow = "GET, POST";
            await ReplyAsync(context, StatusCodes.Status405MethodNotAllowed, $"{request.Method} is not supported (allowed: POST, GET)").ConfigureAwait(false);
            return;
        }
        var cancellationToken = context.RequestAborted;
        byte[] body;
        try
        {
            body = await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            _counter.AddEventReadFail();
            await ReplyAsync(context, StatusCodes.Status413PayloadTooLarge, $"Request body exceeds maxRequestBytes ({MaxRequestBytes})").ConfigureAwait(false);
            return;
        }
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in request.Query)
        {
            parameters[key] = values.Count > 0 ? values[0] ?? "" : "";
        }
        IReadOnlyList<Event> events;
        try
        {
            events = Handler.GetEvents(new HttpSourceRequest(body, request.ContentType, parameters));
        }
        catch (HttpBadRequestException ex)
        {
            _counter.AddEventReadFail();
            _logger.LogWarning("HTTP source {Source}: received bad request from client: {Error}", Name, ex.Message);
            await ReplyAsync(context, StatusCodes.Status400BadRequest, "Bad request from client. " + ex.Message).ConfigureAwait(false);
            return;
        }
        catch (HttpPayloadTooLargeException ex)
        {
            _counter.AddEventReadFail();
            await ReplyAsync(context, StatusCodes.Status413PayloadTooLarge, ex.Message).ConfigureAwait(false);
            return;
        }
        _counter.AddAppendBatchReceived();
        _counter.AddEventReceived(events.Count);
        try
        {
            if (events.Count > 0)
            {
                await _output!.ProcessBatchAsync(events, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ChannelException ex)
        {
            _counter.AddChannelWriteFail();
            _logger.LogWarning("HTTP source {Source}: error appending {Count} events to channel; channel might be full: {Error}", Name, events.Count, ex.Message);
            await ReplyAsync(context, StatusCodes.Status503ServiceUnavailable, "Error appending event to channel. Channel might be full. " + ex.Message).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _counter.AddGenericProcessingFail();
            _logger.LogWarning(ex, "HTTP source {Source}: unexpected error appending events to channel", Name);
            await ReplyAsync(context, StatusCodes.Status500InternalServerError, "Unexpected error while appending event to channel. " + ex.Message).ConfigureAwait(false);
            return;
        }
        _counter.AddAppendBatchAccepted();
        _counter.AddEventAccepted(events.Count);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var length = request.ContentLength;
        using var buffer = new MemoryStream(length is > 0 and < 64 * 1024 * 1024 ? (int)length.Value : 4096);
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.Length == buffer.Capacity ? buffer.GetBuffer() : buffer.ToArray();
    }

    private static Task ReplyAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    private static IHttpSourceHandler CreateHandler(ComponentContext context)
    {
        var type = context.GetString("handler", "org.apache.flume.source.http.JSONHandler")!.Trim();
        switch (type)
        {
            case "org.apache.flume.source.http.JSONHandler" or "JSONHandler" or "json":
                return new JsonHandler();
            case "org.apache.flume.source.http.BLOBHandler" or "BLOBHandler" or "blob":
                var mandatory = context.GetString("handler.mandatoryParameters", "")!
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return new BlobHandler(mandatory);
            case "org.apache.flume.sink.solr.morphline.BlobHandler":
                return new MorphlineBlobHandler(context.GetInt("handler.maxBlobLength", 100_000_000, 1));
            default:
                context.AddError("handler", $"'{type}' is not a known handler (allowed: org.apache.flume.source.http.JSONHandler, org.apache.flume.source.http.BLOBHandler, org.apache.flume.sink.solr.morphline.BlobHandler)");
                return new JsonHandler();
        }
    }

    private static (X509Certificate2? Certificate, SslProtocols Protocols) LoadTls(ComponentContext context)
    {
        var keystore = context.GetString("keystore");
        var passwordKey = context.Properties.ContainsKey("keystore-password") ? "keystore-password" : "keystorePassword";
        var password = context.GetString(passwordKey);
        if (keystore is null)
        {
            context.AddError("keystore", "must be specified when SSL is enabled (a PKCS12 file)");
        }
        if (password is null)
        {
            context.AddError("keystore-password", "must be specified when SSL is enabled");
        }
        var type = context.GetChoice("keystore-type", "JKS", "JKS", "PKCS12");
        var protocols = Protocols(context);
        if (keystore is null || password is null)
        {
            return (null, protocols);
        }
        try
        {
            return (X509CertificateLoader.LoadPkcs12FromFile(keystore, password), protocols);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            var hint = type == "JKS"
                ? $"; Zooflow reads PKCS12 keystores only, convert a JKS one with: keytool -importkeystore -srckeystore {keystore} -destkeystore {keystore}.p12 -deststoretype PKCS12"
                : "";
            context.AddError("keystore", $"Source configured with invalid keystore: {keystore}: {ex.Message}{hint}");
            return (null, protocols);
        }
    }

    /// <summary>TLS 1.2 and 1.3, narrowed by include-protocols and minus exclude-protocols (SSLv3 is never offered).</summary>
    private static SslProtocols Protocols(ComponentContext context)
    {
        static SslProtocols Parse(ComponentContext context, string key, string? value)
        {
            var result = SslProtocols.None;
            foreach (var name in (value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                result |= name switch
                {
                    "TLSv1.3" => SslProtocols.Tls13,
                    "TLSv1.2" => SslProtocols.Tls12,
                    "SSLv3" or "SSLv2Hello" or "TLSv1" or "TLSv1.1" => SslProtocols.None,
                    _ => Unknown(context, key, name),
                };
            }
            return result;
        }
        static SslProtocols Unknown(ComponentContext context, string key, string name)
        {
            context.AddError(key, $"'{name}' is not a TLS protocol name (allowed: TLSv1.2, TLSv1.3; SSLv3, TLSv1 and TLSv1.1 are never offered)");
            return SslProtocols.None;
        }
        var include = Parse(context, "include-protocols", context.GetString("include-protocols"));
        var excludeKey = context.Properties.ContainsKey("exclude-protocols") ? "exclude-protocols" : "excludeProtocols";
        var exclude = Parse(context, excludeKey, context.GetString(excludeKey));
        var protocols = (include == SslProtocols.None ? SslProtocols.Tls12 | SslProtocols.Tls13 : include) & ~exclude;
        if (protocols == SslProtocols.None)
        {
            context.AddError("include-protocols", "with exclude-protocols leaves no TLS protocol enabled (allowed: TLSv1.2, TLSv1.3)");
        }
        return protocols;
    }
}
