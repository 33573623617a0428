using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Http;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.TestKit;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// The http source on a real Kestrel listener, driven by .NET's HttpClient and by curl (flume.md §1.1: 200 on commit,
/// 400 for bad JSON with nothing put, 503 when the channel is full).
/// </summary>
public sealed class HttpSourceTests
{
    private static readonly TimeSpan CurlTimeout = TimeSpan.FromSeconds(30);

    private static async Task<(HttpSource Source, IChannel Channel, CounterRegistry Counters)> StartAsync(long capacity = 10_000, params (string Key, string Value)[] extra)
    {
        var counters = new CounterRegistry();
        var errors = new List<ConfigError>();
        var properties = new List<(string Key, string Value)> { ("bind", "127.0.0.1"), ("port", "0") };
        properties.AddRange(extra);
        var source = new HttpSource("r1", Context("a1.sources.r1.", properties.Select(p => KeyValuePair.Create(p.Key, p.Value)), errors, counters: counters));
        Assert.Empty(errors);
        var channel = Channel(capacity, transactionCapacity: 1_000);
        source.Output = new ChannelOutput(channel);
        await source.StartAsync(TestContext.Current.CancellationToken);
        return (source, channel, counters);
    }

    private static Uri Url(HttpSource source, string pathAndQuery = "/") => new($"{(source.Tls ? "https" : "http")}://127.0.0.1:{source.BoundPort}{pathAndQuery}");

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, HttpSource source, string body, string contentType = "application/json", string path = "/")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return await client.PostAsync(Url(source, path), content, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Json_ArrayOfEvents_200AndHeadersAndBodiesInTheChannel()
    {
        var (source, channel, counters) = await StartAsync();
        await using var _ = source;
        using var client = new HttpClient();

        using var response = await PostAsync(client, source,
            """[{"headers":{"timestamp":"434324343","host":"random_host.example.com","n":5,"ok":true},"body":"random_body"},{"headers":{"e":"f"},"body":"random_body2"},{"body":"no headers"},{"headers":{"only":"headers"}}]""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await DrainAsync(channel);
        Assert.Equal(["random_body", "random_body2", "no headers", ""], events.Select(Text));
        Assert.Equal(new Dictionary<string, string> { ["timestamp"] = "434324343", ["host"] = "random_host.example.com", ["n"] = "5", ["ok"] = "true" }, events[0].Headers);
        Assert.Equal(4, counters.Source("r1").EventAcceptedCount);
    }

    [Fact]
    public async Task Json_Utf16Charset_BodyBytesAsJavaGetBytes()
    {
        var (source, channel, _) = await StartAsync();
        await using var _ = source;
        using var client = new HttpClient();
        using var content = new ByteArrayContent(Encoding.BigEndianUnicode.GetBytes("""[{"headers":{},"body":"h\u00e9"}]"""));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=UTF-16");

        using var response = await client.PostAsync(Url(source), content, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new byte[] { 0xFE, 0xFF, 0x00, (byte)'h', 0x00, 0xE9 }, (await DrainAsync(channel)).Single().Body.ToArray());
    }

    [Theory]
    [InlineData("""[{"headers":{"a":"b"},"body":"ok"}, {"body": """)]
    [InlineData("""{"headers":{},"body":"not an array"}""")]
    [InlineData("""[{"headers":{"nested":{"x":1}},"body":"x"}]""")]
    [InlineData("""[{"body":"fine"}, null]""")]
    [InlineData("")]
    public async Task Json_Malformed_400NothingPutWhileOtherClientKeepsFlowing(string body)
    {
        var (source, channel, counters) = await StartAsync();
        await using var _ = source;
        using var client = new HttpClient();
        using var other = new HttpClient();

        var good = Enumerable.Range(0, 20).Select(i => PostAsync(other, source, $$"""[{"body":"good-{{i}}"}]""")).ToArray();
        using var bad = await PostAsync(client, source, body);
        var goodStatuses = (await Task.WhenAll(good)).Select(r => r.StatusCode).ToArray();

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.StartsWith("Bad request from client.", await bad.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.All(goodStatuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"good-{i}").Order(), (await DrainAsync(channel)).Select(Text).Order());
        Assert.Equal(1, counters.Source("r1").EventReadFail);
    }

    [Fact]
    public async Task Json_FullChannel_503UntilDrainedThen200()
    {
        var (source, channel, counters) = await StartAsync(capacity: 3);
        await using var _ = source;
        using var client = new HttpClient();

        using var first = await PostAsync(client, source, """[{"body":"1"},{"body":"2"}]""");
        using var refused = await PostAsync(client, source, """[{"body":"3"},{"body":"4"}]""");
        var drained = await DrainAsync(channel);
        using var retried = await PostAsync(client, source, """[{"body":"3"},{"body":"4"}]""");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("Channel might be full", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(["1", "2"], drained.Select(Text));
        Assert.Equal(["3", "4"], (await DrainAsync(channel)).Select(Text));
        Assert.Equal(1, counters.Source("r1").ChannelWriteFail);
    }

    [Fact]
    public async Task Curl_ThreeRequestsOnOneKeepAliveConnection_AllCommittedInOrder()
    {
        var (source, channel, _) = await StartAsync();
        await using var _ = source;
        var url = Url(source).ToString();
        var args = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            if (i > 0)
            {
                args.Add("--next");
            }
            args.AddRange(["-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\\n", "-H", "Content-Type: application/json", "--data-binary", $$"""[{"headers":{"i":"{{i}}"},"body":"curl-{{i}}"}]""", url]);
        }

        var result = await ProcessRunner.RunAsync("curl", args, CurlTimeout, cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["200 1", "200 0", "200 0"], result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["curl-0", "curl-1", "curl-2"], (await DrainAsync(channel)).Select(Text));
    }

    [Fact]
    public async Task HttpClient_FiftyConcurrentRequests_EveryEventOnce()
    {
        var (source, channel, _) = await StartAsync();
        await using var _ = source;
        using var client = new HttpClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            PostAsync(client, source, $$"""[{"body":"c-{{i}}-a"},{"body":"c-{{i}}-b"}]""")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var texts = (await DrainAsync(channel)).Select(Text).ToList();
        Assert.Equal(100, texts.Count);
        Assert.Equal(100, texts.Distinct().Count());
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(texts.IndexOf($"c-{i}-a") + 1, texts.IndexOf($"c-{i}-b"));
        }
    }

    [Fact]
    public async Task Blob_MandatoryParameters_400WhenMissingElseParamsBecomeHeaders()
    {
        var (source, channel, _) = await StartAsync(extra: [("handler", "org.apache.flume.source.http.BLOBHandler"), ("handler.mandatoryParameters", "app")]);
        await using var _ = source;
        using var client = new HttpClient();

        using var missing = await PostAsync(client, source, "a,b,c", "text/csv", "/upload?other=1");
        using var ok = await PostAsync(client, source, "a,b,c", "text/csv", "/upload?app=billing&env=prod");
        using var get = await client.GetAsync(Url(source, "/?app=ping"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var events = await DrainAsync(channel);
        Assert.Equal(["a,b,c", ""], events.Select(Text));
        Assert.Equal(new Dictionary<string, string> { ["app"] = "billing", ["env"] = "prod" }, events[0].Headers);
    }

    [Fact]
    public async Task Limits_BodyOverMaxRequestBytesOrMaxBlobLength_413AndNothingPut()
    {
        var (json, jsonChannel, _) = await StartAsync(extra: [("maxRequestBytes", "100")]);
        await using var _ = json;
        var (blob, blobChannel, _) = await StartAsync(extra: [("handler", "org.apache.flume.sink.solr.morphline.BlobHandler"), ("handler.maxBlobLength", "10")]);
        await using var __ = blob;
        using var client = new HttpClient();

        using var tooBig = await PostAsync(client, json, "[" + string.Join(",", Enumerable.Repeat("""{"body":"x"}""", 20)) + "]");
        using var blobTooBig = await PostAsync(client, blob, "01234567890", "application/octet-stream");
        using var blobOk = await PostAsync(client, blob, "0123456789", "application/octet-stream");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Contains("maxRequestBytes", await tooBig.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, blobTooBig.StatusCode);
        Assert.Equal(HttpStatusCode.OK, blobOk.StatusCode);
        Assert.Empty(await DrainAsync(jsonChannel));
        var stored = Assert.Single(await DrainAsync(blobChannel));
        Assert.Equal("application/octet-stream", stored.Headers["Content-Type"]);
    }

    [Fact]
    public async Task Methods_TraceOptionsForbiddenPutNotAllowed()
    {
        var (source, channel, _) = await StartAsync();
        await using var _ = source;
        using var client = new HttpClient();

        using var trace = await client.SendAsync(new HttpRequestMessage(HttpMethod.Trace, Url(source)), TestContext.Current.CancellationToken);
        using var options = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, Url(source)), TestContext.Current.CancellationToken);
        using var put = await client.PutAsync(Url(source), new StringContent("[]"), TestContext.Current.CancellationToken);

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.MethodNotAllowed), (trace.StatusCode, options.StatusCode, put.StatusCode));
        Assert.Empty(await DrainAsync(channel));
    }

    [Fact]
    public async Task Tls_Pkcs12Keystore_CurlOverHttps()
    {
        var dir = TempDir();
        var keystore = Path.Combine(dir, "keystore.p12");
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllBytesAsync(keystore, certificate.Export(X509ContentType.Pkcs12, "secret"), TestContext.Current.CancellationToken);
        }
        var (source, channel, _) = await StartAsync(extra: [("ssl", "true"), ("keystore", keystore), ("keystore-password", "secret"), ("keystore-type", "PKCS12"),
            ("QueuedThreadPool.maxThreads", "50")]);
        await using var _ = source;

        var result = await ProcessRunner.RunAsync("curl", ["-s", "-k", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}", "-H", "Content-Type: application/json",
            "--data-binary", """[{"body":"over tls"}]""", Url(source).ToString()], CurlTimeout, cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("200", result.StandardOutput);
        Assert.Equal(["over tls"], (await DrainAsync(channel)).Select(Text));
    }

    [Fact]
    public void Configuration_JksKeystoreAndUnknownHandler_ErrorsNameKeyAndFix()
    {
        var dir = TempDir();
        var jks = Path.Combine(dir, "keystore.jks");
        File.WriteAllBytes(jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]);
        var errors = new List<ConfigError>();

        _ = new HttpSource("r1", Context("a1.sources.r1.", [KeyValuePair.Create("port", "0"), KeyValuePair.Create("enableSSL", "true"),
            KeyValuePair.Create("keystore", jks), KeyValuePair.Create("keystorePassword", "x"), KeyValuePair.Create("handler", "org.example.RestHandler")], errors));

        Assert.Equal(["a1.sources.r1.handler", "a1.sources.r1.keystore"], errors.Select(e => e.Key));
        Assert.Contains("keytool -importkeystore", errors[1].Message);
    }
}
