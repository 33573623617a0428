using System.Text.RegularExpressions;
using Confluent.Kafka;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Kafka;

/// <summary>Which librdkafka client a configuration is for (decides which settings the client ignores).</summary>
public enum KafkaClientRole
{
    /// <summary>A producer (<c>kafka.producer.*</c>).</summary>
    Producer,
    /// <summary>A consumer (<c>kafka.consumer.*</c>).</summary>
    Consumer,
}

/// <summary>
/// Turns a component's <c>kafka.producer.*</c> / <c>kafka.consumer.*</c> passthrough into a validated librdkafka
/// configuration, reporting every key by name and <c>file:line</c> at validation time instead of at run time.
/// </summary>
/// <remarks>
/// <para>Flume hands these keys to the Java Kafka client, which only logs a warning for a name it does not know, so a
/// typo silently does nothing (flume.md §8.7). Zooflow's client is librdkafka, which shares most names with the Java
/// client. Each key is resolved in this order:</para>
/// <list type="number">
/// <item>librdkafka accepts it (checked by librdkafka itself, on a throwaway client that never connects): used as is;
/// a value librdkafka rejects is an error quoting librdkafka's reason; a setting of the other client role (e.g.
/// <c>group.id</c> on a producer) is a warning, as librdkafka ignores it.</item>
/// <item>a Java client name with a librdkafka counterpart (<c>max.request.size</c> → <c>message.max.bytes</c>,
/// <c>sasl.jaas.config</c> with the PLAIN/SCRAM/Kerberos login modules → <c>sasl.username</c>/<c>sasl.password</c> or
/// <c>sasl.kerberos.keytab</c>/<c>sasl.kerberos.principal</c>, ...): translated, with a warning naming the new key;</item>
/// <item>a Java client setting without a counterpart (serializer classes, <c>buffer.memory</c>, JKS trust stores, ...):
/// ignored, with a warning saying why and what to use instead;</item>
/// <item>anything else: an error (a misspelt key is the common case).</item>
/// </list>
/// <para>Keys the component owns (<c>bootstrap.servers</c>; a consumer's <c>group.id</c> and
/// <c>enable.auto.commit</c>) always win over the passthrough, as in Flume; setting them there is a warning.</para>
/// </remarks>
public static partial class KafkaClientConfig
{
    private const string NoSuchProperty = "No such configuration property";

    /// <summary>Java client names whose librdkafka counterpart has another name.</summary>
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["max.request.size"] = "message.max.bytes",
        ["send.buffer.bytes"] = "socket.send.buffer.bytes",
        ["receive.buffer.bytes"] = "socket.receive.buffer.bytes",
        ["fetch.max.wait.ms"] = "fetch.wait.max.ms",
        ["compression.gzip.level"] = "compression.level",
        ["compression.lz4.level"] = "compression.level",
        ["compression.zstd.level"] = "compression.level",
    };

    /// <summary>Java client settings librdkafka has no counterpart for, with what to do instead.</summary>
    private static readonly Dictionary<string, string> JavaOnly = new(StringComparer.Ordinal)
    {
        ["key.serializer"] = "Zooflow always writes the event key (header 'key') as UTF-8 text, as Flume's default StringSerializer",
        ["value.serializer"] = "Zooflow always writes the body (or the AvroFlumeEvent datum) as bytes, as Flume's default ByteArraySerializer",
        ["key.deserializer"] = "Zooflow always reads the message key as UTF-8 text, as Flume's default StringDeserializer",
        ["value.deserializer"] = "Zooflow always reads the message value as bytes, as Flume's default ByteArrayDeserializer",
        ["serializer.class"] = "it belongs to the Kafka 0.8 producer",
        ["key.serializer.class"] = "it belongs to the Kafka 0.8 producer",
        ["buffer.memory"] = "librdkafka bounds its queue with queue.buffering.max.kbytes and queue.buffering.max.messages",
        ["max.block.ms"] = "a batch waits at most message.timeout.ms (delivery.timeout.ms) for its acknowledgements",
        ["partitioner.class"] = "librdkafka's partitioner is chosen with 'partitioner' (murmur2_random is the Java client's)",
        ["interceptor.classes"] = "Java interceptors cannot run in librdkafka; use a Flume interceptor on the source",
        ["metric.reporters"] = "Zooflow serves its metrics at /metrics",
        ["metrics.num.samples"] = "Zooflow serves its metrics at /metrics",
        ["metrics.sample.window.ms"] = "Zooflow serves its metrics at /metrics",
        ["metrics.recording.level"] = "Zooflow serves its metrics at /metrics",
        ["auto.include.jmx.reporter"] = "there is no JMX",
        ["max.poll.records"] = "the source reads up to batchSize records per batch",
        ["exclude.internal.topics"] = "librdkafka never matches internal topics with a regex subscription",
        ["default.api.timeout.ms"] = "librdkafka's calls take their own timeouts",
        ["metadata.max.idle.ms"] = "librdkafka refreshes metadata every topic.metadata.refresh.interval.ms",
        ["partitioner.ignore.keys"] = "set 'partitioner' instead",
        ["partitioner.adaptive.partitioning.enable"] = "librdkafka has no adaptive partitioner",
        ["partitioner.availability.timeout.ms"] = "librdkafka has no adaptive partitioner",
        ["socket.connection.setup.timeout.max.ms"] = "librdkafka uses socket.connection.setup.timeout.ms",
        ["retry.backoff.max.ms"] = "librdkafka uses retry.backoff.ms",
        ["security.providers"] = "librdkafka uses OpenSSL",
        ["ssl.protocol"] = "OpenSSL negotiates the TLS version",
        ["ssl.enabled.protocols"] = "OpenSSL negotiates the TLS version",
        ["ssl.provider"] = "librdkafka uses OpenSSL",
        ["ssl.keymanager.algorithm"] = "librdkafka uses OpenSSL",
        ["ssl.trustmanager.algorithm"] = "librdkafka uses OpenSSL",
        ["ssl.secure.random.implementation"] = "librdkafka uses OpenSSL",
        ["ssl.engine.factory.class"] = "librdkafka uses OpenSSL",
        ["ssl.truststore.location"] = "a Java trust store (JKS) cannot be read by librdkafka: set ssl.ca.location to a PEM file of the CA certificates",
        ["ssl.truststore.password"] = "a Java trust store (JKS) cannot be read by librdkafka: set ssl.ca.location to a PEM file of the CA certificates",
        ["ssl.truststore.type"] = "a Java trust store (JKS) cannot be read by librdkafka: set ssl.ca.location to a PEM file of the CA certificates",
        ["ssl.truststore.certificates"] = "set ssl.ca.pem to the PEM text instead",
        ["ssl.keystore.type"] = "librdkafka reads ssl.keystore.location as PKCS#12 (convert a JKS store with keytool -importkeystore -deststoretype PKCS12)",
        ["ssl.keystore.key"] = "set ssl.key.pem instead",
        ["ssl.keystore.certificate.chain"] = "set ssl.certificate.pem instead",
        ["sasl.client.callback.handler.class"] = "Java callback handlers cannot run in librdkafka",
        ["sasl.login.callback.handler.class"] = "Java callback handlers cannot run in librdkafka",
        ["sasl.login.class"] = "Java login classes cannot run in librdkafka",
        ["sasl.kerberos.ticket.renew.window.factor"] = "librdkafka refreshes tickets every sasl.kerberos.min.time.before.relogin",
        ["sasl.kerberos.ticket.renew.jitter"] = "librdkafka refreshes tickets every sasl.kerberos.min.time.before.relogin",
        ["sasl.login.refresh.window.factor"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.refresh.window.jitter"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.refresh.min.period.seconds"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.refresh.buffer.seconds"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.connect.timeout.ms"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.read.timeout.ms"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.retry.backoff.ms"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["sasl.login.retry.backoff.max.ms"] = "librdkafka's OAUTHBEARER refresh is configured with sasl.oauthbearer.*",
        ["zookeeper.connect"] = "Kafka clients have not used ZooKeeper since 0.9; set kafka.bootstrap.servers",
        ["auto.commit.enable"] = "it belongs to the Kafka 0.8 consumer; the Kafka components commit offsets themselves",
        ["consumer.timeout.ms"] = "it belongs to the Kafka 0.8 consumer",
        ["group.remote.assignor"] = "the new consumer group protocol is not enabled",
    };

    /// <summary>Java assignor classes and their librdkafka names (<c>partition.assignment.strategy</c>).</summary>
    private static readonly Dictionary<string, string> Assignors = new(StringComparer.Ordinal)
    {
        ["org.apache.kafka.clients.consumer.RangeAssignor"] = "range",
        ["org.apache.kafka.clients.consumer.RoundRobinAssignor"] = "roundrobin",
        ["org.apache.kafka.clients.consumer.CooperativeStickyAssignor"] = "cooperative-sticky",
    };

    /// <summary>Defaults for every client, applied before the component's own.</summary>
    private static readonly KeyValuePair<string, string>[] CommonDefaults = [new("socket.nagle.disable", "true")];

    /// <summary>Keys that name the same librdkafka setting (a user's spelling replaces a default's).</summary>
    private static readonly string[][] Synonyms =
    [
        ["acks", "request.required.acks"],
        ["linger.ms", "queue.buffering.max.ms"],
        ["delivery.timeout.ms", "message.timeout.ms"],
        ["retries", "message.send.max.retries"],
        ["auto.offset.reset", "topic.auto.offset.reset"],
    ];

    /// <summary>
    /// Builds the configuration of one client. <paramref name="defaults"/> apply unless the passthrough sets the key (or
    /// a synonym); <paramref name="owned"/> always win. Problems are recorded on <paramref name="context"/> under the
    /// passthrough key (<paramref name="subPrefix"/> + name). The result is in the order librdkafka should apply it.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Build(ComponentContext context, string subPrefix, KafkaClientRole role,
        IReadOnlyList<KeyValuePair<string, string>> defaults, IReadOnlyList<KeyValuePair<string, string>> owned)
    {
        ArgumentNullException.ThrowIfNull(context);
        var entries = new List<Entry>();
        var passthrough = context.SubProperties(subPrefix).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        // The Java client always sets TCP_NODELAY; librdkafka leaves Nagle on, which with the broker's delayed ACKs
        // stalls each small request ~40 ms (measured: 2,292 vs ... events/s at flumeBatchSize 100, bench/kafka).
        foreach (var (name, value) in CommonDefaults.Concat(defaults))
        {
            if (!passthrough.Any(p => SameSetting(p.Key, name)))
            {
                entries.Add(new Entry(name, value, null));
            }
        }
        foreach (var (name, value) in passthrough)
        {
            var key = subPrefix + name;
            var ownedValue = owned.FirstOrDefault(o => SameSetting(o.Key, name));
            if (ownedValue.Key is not null && ownedValue.Value == value.Value)
            {
                continue; // e.g. kafka.consumer.group.id, which the component reads and owns
            }
            if (ownedValue.Key is not null)
            {
                context.AddWarning(key, $"'{value.Value}' is ignored: the component sets {ownedValue.Key} itself ({Describe(ownedValue)})");
                continue;
            }
            foreach (var translated in Translate(context, key, name, value.Value))
            {
                entries.Add(translated);
            }
        }
        foreach (var (name, value) in owned)
        {
            entries.Add(new Entry(name, value, null));
        }
        Validate(context, role, entries);
        return entries.Select(e => new KeyValuePair<string, string>(e.Name, e.Value)).ToList();
    }

    /// <summary>The bootstrap list of <c>kafka.bootstrap.servers</c>: required, host:port entries.</summary>
    public static string BootstrapServers(ComponentContext context, string? deprecatedKey = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var value = context.GetString("kafka.bootstrap.servers");
        if (value is null && deprecatedKey is not null && context.GetString(deprecatedKey) is { } old)
        {
            context.AddWarning(deprecatedKey, $"is deprecated (Flume maps it with a warning); use kafka.bootstrap.servers = {old}");
            value = old;
        }
        if (value is null)
        {
            context.AddError("kafka.bootstrap.servers", "is required: Bootstrap Servers must be specified (allowed: host:port[,host:port...])");
            return "";
        }
        foreach (var server in value.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = server.LastIndexOf(':');
            if (server.Length == 0 || colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            {
                context.AddError("kafka.bootstrap.servers", $"'{server}' in '{value}' is not host:port (allowed: host:port[,host:port...], port 1..65535)");
            }
        }
        return value;
    }

    private static string Describe(KeyValuePair<string, string> owned) =>
        owned.Key == "bootstrap.servers" ? "from kafka.bootstrap.servers" : $"always {owned.Value}";

    private static bool SameSetting(string a, string b)
    {
        if (a == b)
        {
            return true;
        }
        foreach (var group in Synonyms)
        {
            if (group.Contains(a) && group.Contains(b))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The entries a passthrough key becomes; special Java-client values are translated up front.</summary>
    private static IEnumerable<Entry> Translate(ComponentContext context, string key, string name, string value)
    {
        switch (name)
        {
            case "ssl.disableTLSHostnameVerification":
                // Flume's own switch (KafkaSSLUtil): its properties cannot hold the empty value the Java client wants.
                if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
                {
                    yield return new Entry("ssl.endpoint.identification.algorithm", "none", key);
                }
                yield break;
            case "ssl.endpoint.identification.algorithm" when value.Length == 0 || value.Equals("HTTPS", StringComparison.Ordinal):
                yield return new Entry(name, value.Length == 0 ? "none" : "https", key);
                yield break;
            case "partition.assignment.strategy":
                var names = new List<string>();
                foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    if (Assignors.TryGetValue(part, out var librdkafkaName))
                    {
                        names.Add(librdkafkaName);
                    }
                    else if (part.Contains('.', StringComparison.Ordinal))
                    {
                        context.AddWarning(key, $"assignor '{part}' has no librdkafka counterpart and is left out (allowed: range, roundrobin, cooperative-sticky, or the Java RangeAssignor/RoundRobinAssignor/CooperativeStickyAssignor)");
                    }
                    else
                    {
                        names.Add(part);
                    }
                }
                if (names.Count > 0)
                {
                    yield return new Entry(name, string.Join(",", names), key);
                }
                yield break;
            case "sasl.jaas.config":
                foreach (var entry in TranslateJaas(context, key, value))
                {
                    yield return entry;
                }
                yield break;
            default:
                yield return new Entry(name, value, key);
                yield break;
        }
    }

    /// <summary>The JAAS login modules that carry credentials librdkafka takes as plain settings.</summary>
    private static IEnumerable<Entry> TranslateJaas(ComponentContext context, string key, string value)
    {
        var options = JaasOption().Matches(value).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value, StringComparer.Ordinal);
        if (value.Contains("PlainLoginModule", StringComparison.Ordinal) || value.Contains("ScramLoginModule", StringComparison.Ordinal))
        {
            if (options.TryGetValue("username", out var user) && options.TryGetValue("password", out var password))
            {
                context.AddWarning(key, "is a Java JAAS setting; translated to librdkafka's sasl.username and sasl.password");
                yield return new Entry("sasl.username", user, key);
                yield return new Entry("sasl.password", password, key);
                yield break;
            }
        }
        else if (value.Contains("Krb5LoginModule", StringComparison.Ordinal))
        {
            context.AddWarning(key, "is a Java JAAS setting; translated to librdkafka's sasl.kerberos.keytab and sasl.kerberos.principal");
            if (options.TryGetValue("keyTab", out var keytab))
            {
                yield return new Entry("sasl.kerberos.keytab", keytab, key);
            }
            if (options.TryGetValue("principal", out var principal))
            {
                yield return new Entry("sasl.kerberos.principal", principal, key);
            }
            yield break;
        }
        context.AddWarning(key, "is a Java JAAS setting that librdkafka cannot use; it is ignored (set sasl.username/sasl.password, sasl.kerberos.* or sasl.oauthbearer.* instead)");
    }

    [GeneratedRegex("""(?<name>[A-Za-z]+)\s*=\s*"(?<value>[^"]*)"|(?<name>[A-Za-z]+)\s*=\s*(?<value>[^\s;"]+)""")]
    private static partial Regex JaasOption();

    [GeneratedRegex("\"(?<name>[^\"]+)\"")]
    private static partial Regex QuotedName();

    [GeneratedRegex("Configuration property (?<name>\\S+) is a (?<role>consumer|producer) property and will be ignored by this (?<client>consumer|producer) instance")]
    private static partial Regex IgnoredByRole();

    /// <summary>
    /// Lets librdkafka judge every entry: builds a client of the role (without bootstrap servers, so it never connects),
    /// and on each refusal reports the entry it names, drops it and tries again, until librdkafka accepts the rest.
    /// </summary>
    private static void Validate(ComponentContext context, KafkaClientRole role, List<Entry> entries)
    {
        for (var attempt = 0; attempt <= entries.Count + 4; attempt++)
        {
            var ignored = new List<string>();
            var failure = TryCreateClient(role, entries, ignored);
            if (failure is null)
            {
                foreach (var name in ignored)
                {
                    foreach (var entry in entries.Where(e => e.Name == name && e.Key is not null))
                    {
                        context.AddWarning(entry.Key!, $"is a {(role == KafkaClientRole.Producer ? "consumer" : "producer")} setting; the {role.ToString().ToLowerInvariant()} ignores it");
                    }
                }
                return;
            }
            var quoted = QuotedName().Match(failure.Message);
            var culprit = quoted.Success ? entries.FirstOrDefault(e => e.Name == quoted.Groups["name"].Value) : null;
            culprit ??= FindFailing(role, entries);
            if (culprit is null)
            {
                context.AddError(entries.FirstOrDefault(e => e.Key is not null)?.Key ?? "kafka.bootstrap.servers", $"librdkafka refused the client settings: {failure.Message}");
                entries.Clear();
                return;
            }
            entries.Remove(culprit);
            var unknown = failure.Message.Contains(NoSuchProperty, StringComparison.Ordinal) && quoted.Success && quoted.Groups["name"].Value == culprit.Name;
            Report(context, entries, culprit, unknown, failure.Message);
        }
    }

    private static void Report(ComponentContext context, List<Entry> entries, Entry culprit, bool unknown, string reason)
    {
        var key = culprit.Key;
        if (key is null)
        {
            // One of our own defaults was refused: a programming error, reported so it cannot pass unnoticed.
            context.AddError("type", $"internal Kafka default {culprit.Name}={culprit.Value} was refused by librdkafka: {reason}");
            return;
        }
        if (!unknown)
        {
            context.AddError(key, $"'{culprit.Value}' is not accepted by librdkafka: {reason}");
            return;
        }
        if (Renamed.TryGetValue(culprit.Name, out var renamed) && renamed != culprit.Name)
        {
            context.AddWarning(key, $"is the Java client's name; translated to librdkafka's {renamed}");
            if (!entries.Any(e => e.Name == renamed))
            {
                entries.Add(new Entry(renamed, culprit.Value, key));
            }
            return;
        }
        if (JavaOnly.TryGetValue(culprit.Name, out var why))
        {
            context.AddWarning(key, $"is a Java Kafka client setting with no librdkafka counterpart and is ignored: {why}");
            return;
        }
        context.AddError(key, $"is not a Kafka client setting librdkafka {Library.VersionString} knows, nor one of the Java client's (check the spelling; librdkafka's settings are listed in its CONFIGURATION.md)");
    }

    /// <summary>Finds the entry librdkafka refuses when the error names it by another spelling (an alias).</summary>
    private static Entry? FindFailing(KafkaClientRole role, List<Entry> entries)
    {
        foreach (var entry in entries)
        {
            if (TryCreateClient(role, [entry], []) is not null)
            {
                return entry;
            }
        }
        return null;
    }

    /// <summary>Creates and disposes a client with <paramref name="entries"/>; returns librdkafka's refusal or null.</summary>
    private static Exception? TryCreateClient(KafkaClientRole role, IReadOnlyList<Entry> entries, List<string> ignoredByRole)
    {
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Name != "bootstrap.servers")
            {
                config[entry.Name] = entry.Value;
            }
        }
        void OnLog(LogMessage message)
        {
            var match = IgnoredByRole().Match(message.Message);
            if (match.Success)
            {
                lock (ignoredByRole)
                {
                    ignoredByRole.Add(match.Groups["name"].Value);
                }
            }
        }
        try
        {
            if (role == KafkaClientRole.Producer)
            {
                // No background poll thread: disposing then takes milliseconds instead of one poll interval.
                config["dotnet.producer.enable.background.poll"] = "false";
                using var producer = new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, m) => OnLog(m)).Build();
            }
            else
            {
                using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, m) => OnLog(m)).Build();
                consumer.Close();
            }
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            return ex;
        }
    }

    /// <summary>One librdkafka setting and the passthrough key it came from (null for the component's own).</summary>
    private sealed record Entry(string Name, string Value, string? Key);
}
