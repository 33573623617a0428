using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// TLS settings of the avro source and sink, read from Flume's keys. Keystores must be PKCS12 (<c>keystore-type</c>
/// PKCS12): .NET cannot read Java's JKS format, so <c>JKS</c> is a configuration error that says how to convert.
/// Truststores may be PKCS12 or PEM (one or more CA certificates).
/// </summary>
internal static class AvroTls
{
    private const string JksAdvice = "JKS keystores cannot be read by .NET; convert with `keytool -importkeystore -srckeystore FILE.jks -destkeystore FILE.p12 -deststoretype PKCS12` and set the type to PKCS12";

    /// <summary>
    /// The protocols to enable: <c>include-protocols</c> (space-separated; empty = TLSv1.2 and TLSv1.3) minus
    /// <c>exclude-protocols</c> (SSLv3 is always excluded, as in Flume). Unknown names are configuration errors.
    /// </summary>
    public static SslProtocols ReadProtocols(ComponentContext context)
    {
        var include = Names(context, "include-protocols");
        var exclude = Names(context, "exclude-protocols");
#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are named so that configurations excluding them parse; they are never enabled by default.
        var enabled = include.Count == 0 ? SslProtocols.Tls12 | SslProtocols.Tls13 : SslProtocols.None;
        foreach (var name in include)
        {
            enabled |= Protocol(context, "include-protocols", name);
        }
        foreach (var name in exclude)
        {
            enabled &= ~Protocol(context, "exclude-protocols", name);
        }
#pragma warning restore SYSLIB0039
        if (enabled == SslProtocols.None)
        {
            context.AddError("exclude-protocols", "leaves no TLS protocol enabled (allowed protocols: TLSv1.2, TLSv1.3)");
        }
        return enabled;
    }

    /// <summary>Loads the server certificate from <c>keystore</c> / <c>keystore-password</c> / <c>keystore-type</c>.</summary>
    public static X509Certificate2? ReadKeystore(ComponentContext context)
    {
        var path = context.GetString("keystore");
        var password = context.GetString("keystore-password");
        var type = context.GetString("keystore-type", "JKS")!;
        if (path is null)
        {
            context.AddError("keystore", "is required when ssl = true (a PKCS12 file with the server's certificate and key)");
            return null;
        }
        if (!string.Equals(type, "PKCS12", StringComparison.OrdinalIgnoreCase))
        {
            context.AddError("keystore-type", string.Equals(type, "JKS", StringComparison.OrdinalIgnoreCase) && !context.Properties.ContainsKey("keystore-type")
                ? $"is not set, and Flume's default JKS cannot be read by .NET: set it to PKCS12 ({JksAdvice})"
                : $"'{type}' is not supported (allowed: PKCS12). {JksAdvice}");
            return null;
        }
        try
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (!certificate.HasPrivateKey)
            {
                context.AddError("keystore", $"'{path}' holds no private key for its certificate");
                return null;
            }
            return certificate;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            context.AddError("keystore", $"cannot read PKCS12 keystore '{path}': {ex.Message}");
            return null;
        }
    }

    /// <summary>Loads <c>truststore</c> (PKCS12 or PEM); null when the key is absent (the system's roots are used).</summary>
    public static X509Certificate2Collection? ReadTruststore(ComponentContext context)
    {
        var path = context.GetString("truststore");
        if (path is null)
        {
            return null;
        }
        var type = context.GetString("truststore-type", "JKS")!;
        var roots = new X509Certificate2Collection();
        try
        {
            if (string.Equals(type, "PKCS12", StringComparison.OrdinalIgnoreCase))
            {
                roots.AddRange(X509CertificateLoader.LoadPkcs12CollectionFromFile(path, context.GetString("truststore-password")));
            }
            else if (string.Equals(type, "PEM", StringComparison.OrdinalIgnoreCase))
            {
                roots.ImportFromPemFile(path);
            }
            else
            {
                context.AddError("truststore-type", $"'{type}' is not supported (allowed: PKCS12, PEM). {JksAdvice}");
                return null;
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            context.AddError("truststore", $"cannot read {type} truststore '{path}': {ex.Message}");
            return null;
        }
        if (roots.Count == 0)
        {
            context.AddError("truststore", $"'{path}' holds no certificate");
            return null;
        }
        return roots;
    }

    /// <summary>
    /// The sink's check of the source's certificate. As Flume's client (no endpoint identification on its SSLEngine), it
    /// checks the chain but not the host name; with a truststore the chain must end at one of its certificates.
    /// </summary>
    public static RemoteCertificateValidationCallback Validator(bool trustAll, X509Certificate2Collection? roots) =>
        (_, certificate, chain, errors) =>
        {
            if (trustAll)
            {
                return true;
            }
            if (certificate is null)
            {
                return false;
            }
            errors &= ~SslPolicyErrors.RemoteCertificateNameMismatch;
            if (roots is null)
            {
                return errors == SslPolicyErrors.None;
            }
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                foreach (var element in chain.ChainElements)
                {
                    custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
            return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };

    private static List<string> Names(ComponentContext context, string key) =>
        [.. (context.GetString(key) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

#pragma warning disable SYSLIB0039
    private static SslProtocols Protocol(ComponentContext context, string key, string name) => name switch
    {
        "SSLv3" or "SSLv2Hello" or "SSLv2" => SslProtocols.None,
        "TLSv1" => SslProtocols.Tls,
        "TLSv1.1" => SslProtocols.Tls11,
        "TLSv1.2" => SslProtocols.Tls12,
        "TLSv1.3" => SslProtocols.Tls13,
        _ => Unknown(context, key, name),
    };
#pragma warning restore SYSLIB0039

    private static SslProtocols Unknown(ComponentContext context, string key, string name)
    {
        context.AddError(key, $"'{name}' is not a TLS protocol name (allowed: SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)");
        return SslProtocols.None;
    }
}
