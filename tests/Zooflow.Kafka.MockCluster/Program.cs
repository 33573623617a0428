using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Zooflow.Kafka.MockCluster;

/// <summary>
/// Hosts librdkafka's mock Kafka cluster (the Kafka protocol on loopback, in memory: produce, fetch, metadata, consumer
/// groups and offset commits) in its own process, and injects broker faults through librdkafka's mock API on command.
/// </summary>
/// <remarks>
/// Usage: <c>Zooflow.Kafka.MockCluster [--brokers N] [--topic name:partitions[:replicas]] ...</c>. Prints
/// <c>bootstrap=host:port,...</c> once the cluster listens, then reads one command per stdin line and answers
/// <c>ok</c> or <c>error ...</c>:
/// <code>
/// down &lt;broker&gt;                      rd_kafka_mock_broker_set_down: closes its connections, refuses new ones
/// up &lt;broker&gt;                        rd_kafka_mock_broker_set_up
/// leader &lt;topic&gt; &lt;partition&gt; &lt;broker&gt;   rd_kafka_mock_partition_set_leader (a leader election)
/// create &lt;topic&gt; &lt;partitions&gt; &lt;replicas&gt;  rd_kafka_mock_topic_create
/// coordinator &lt;group&gt; &lt;broker&gt;         rd_kafka_mock_coordinator_set (the group's coordinator moves)
/// </code>
/// It exits when stdin closes, so a test that dies never leaves a cluster behind.
/// </remarks>
internal static class Program
{
    private static int Main(string[] args)
    {
        NativeLibrary.SetDllImportResolver(typeof(Program).Assembly, ResolveLibrdkafka);
        var brokers = 3;
        var topics = new List<(string Name, int Partitions, int Replicas)>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--brokers":
                    brokers = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--topic":
                    var parts = args[++i].Split(':');
                    topics.Add((parts[0], parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 1,
                        parts.Length > 2 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : Math.Min(3, brokers)));
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }

        var errors = Marshal.AllocHGlobal(512);
        var conf = Native.rd_kafka_conf_new();
        // A producer handle only carries the mock cluster; it never produces. Its own log goes to stderr.
        var handle = Native.rd_kafka_new(0, conf, errors, 512);
        if (handle == IntPtr.Zero)
        {
            Console.Error.WriteLine("rd_kafka_new failed: " + Marshal.PtrToStringUTF8(errors));
            return 1;
        }
        var cluster = Native.rd_kafka_mock_cluster_new(handle, brokers);
        if (cluster == IntPtr.Zero)
        {
            Console.Error.WriteLine("rd_kafka_mock_cluster_new failed");
            return 1;
        }
        foreach (var (name, partitions, replicas) in topics)
        {
            var err = Native.rd_kafka_mock_topic_create(cluster, name, partitions, replicas);
            if (err != 0)
            {
                Console.Error.WriteLine($"creating topic {name} failed: error {err}");
                return 1;
            }
        }
        Console.Out.WriteLine("bootstrap=" + Marshal.PtrToStringUTF8(Native.rd_kafka_mock_cluster_bootstraps(cluster)));
        Console.Out.Flush();

        string? line;
        while ((line = Console.In.ReadLine()) is not null)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                continue;
            }
            int result;
            try
            {
                result = words[0] switch
                {
                    "down" => Native.rd_kafka_mock_broker_set_down(cluster, Int(words[1])),
                    "up" => Native.rd_kafka_mock_broker_set_up(cluster, Int(words[1])),
                    "leader" => Native.rd_kafka_mock_partition_set_leader(cluster, words[1], Int(words[2]), Int(words[3])),
                    "create" => Native.rd_kafka_mock_topic_create(cluster, words[1], Int(words[2]), Int(words[3])),
                    "coordinator" => Native.rd_kafka_mock_coordinator_set(cluster, "group", words[1], Int(words[2])),
                    _ => -1,
                };
            }
            catch (Exception ex) when (ex is IndexOutOfRangeException or FormatException)
            {
                result = -1;
            }
            Console.Out.WriteLine(result == 0 ? "ok" : $"error {result} for '{line}'");
            Console.Out.Flush();
        }
        Native.rd_kafka_mock_cluster_destroy(cluster);
        Native.rd_kafka_destroy(handle);
        Marshal.FreeHGlobal(errors);
        return 0;
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>Loads librdkafka from librdkafka.redist the way Confluent.Kafka does on Linux: the build linked with
    /// Cyrus SASL first, then the self-contained centos8 build (Debian 12 has libsasl2.so.2, not .so.3).</summary>
    private static IntPtr ResolveLibrdkafka(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "librdkafka")
        {
            return IntPtr.Zero;
        }
        var rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var directory = Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native");
        foreach (var file in new[] { "librdkafka.so", "centos8-librdkafka.so" })
        {
            if (NativeLibrary.TryLoad(Path.Combine(directory, file), out var library))
            {
                return library;
            }
        }
        return IntPtr.Zero;
    }

    private static class Native
    {
        [DllImport("librdkafka")]
        public static extern IntPtr rd_kafka_conf_new();

        [DllImport("librdkafka")]
        public static extern IntPtr rd_kafka_new(int type, IntPtr conf, IntPtr errstr, nuint errstrSize);

        [DllImport("librdkafka")]
        public static extern void rd_kafka_destroy(IntPtr rk);

        [DllImport("librdkafka")]
        public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

        [DllImport("librdkafka")]
        public static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);

        [DllImport("librdkafka")]
        public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

        [DllImport("librdkafka")]
        public static extern int rd_kafka_mock_topic_create(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replicas);

        [DllImport("librdkafka")]
        public static extern int rd_kafka_mock_coordinator_set(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string keyType, [MarshalAs(UnmanagedType.LPUTF8Str)] string key, int brokerId);

        [DllImport("librdkafka")]
        public static extern int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

        [DllImport("librdkafka")]
        public static extern int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

        [DllImport("librdkafka")]
        public static extern int rd_kafka_mock_partition_set_leader(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partition, int brokerId);
    }
}
