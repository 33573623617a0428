using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Channels;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Pipeline.Instrumentation;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>Builds avro sources and sinks on loopback, and a raw Netty-framed client for the wire tests.</summary>
internal static class AvroTestKit
{
    public static AvroSource Source(IEventSink output, ListLoggerFactory? logs = null, params (string Key, string Value)[] extra)
    {
        var properties = new List<KeyValuePair<string, string>> { new("bind", "127.0.0.1"), new("port", "0") };
        properties.AddRange(extra.Select(p => KeyValuePair.Create(p.Key, p.Value)));
        var errors = new List<ConfigError>();
        var source = new AvroSource("r1", Context("a1.sources.r1.", properties, errors, logs, counters: new CounterRegistry()));
        Assert.Empty(errors);
        source.Output = output;
        return source;
    }

    public static AvroSink Sink(int port, MemoryChannel channel, params (string Key, string Value)[] extra)
    {
        var properties = new List<KeyValuePair<string, string>> { new("hostname", "127.0.0.1"), new("port", port.ToString()) };
        properties.AddRange(extra.Select(p => KeyValuePair.Create(p.Key, p.Value)));
        var errors = new List<ConfigError>();
        var sink = new AvroSink("k1", Context("a1.sinks.k1.", properties, errors));
        Assert.Empty(errors);
        sink.Channel = channel;
        return sink;
    }

    /// <summary>Runs the sink until the channel is empty (each ProcessAsync sends one batch).</summary>
    public static async Task DrainThroughAsync(AvroSink sink, IChannel channel)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (channel.Size > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the sink did not drain its channel in time");
            await sink.ProcessAsync(TestContext.Current.CancellationToken);
        }
    }

    public static Event[] Events(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => TextEvent($"{prefix}-{i:D6}", ("seq", i.ToString()))).ToArray();

    /// <summary>A self-signed server certificate for 127.0.0.1, written as a PKCS12 keystore and a PEM truststore.</summary>
    public static (string Keystore, string TruststorePem) SelfSignedCertificate(string directory, string password)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=zooflow-avro-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var keystore = Path.Combine(directory, "server.p12");
        File.WriteAllBytes(keystore, certificate.Export(X509ContentType.Pkcs12, password));
        var pem = Path.Combine(directory, "ca.pem");
        File.WriteAllText(pem, certificate.ExportCertificatePem());
        return (keystore, pem);
    }

    public static async Task<Socket> ConnectAsync(int port)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        return client;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, or fewer when the peer closes.</summary>
    public static async Task<byte[]> ReceiveAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(WaitLimit);
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return buffer[..read];
    }

    /// <summary>True when the peer closed the connection (a read returns 0 or the connection was reset) within the wait limit.</summary>
    public static async Task<bool> ClosedByPeerAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(WaitLimit);
        try
        {
            while (true)
            {
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
