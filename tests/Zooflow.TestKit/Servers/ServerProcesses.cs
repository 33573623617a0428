using System.Globalization;
using System.Text;

namespace Zooflow.TestKit.Servers;

/// <summary>
/// How a test starts one server process from a zoo.cfg: Apache ZooKeeper 3.8 from Debian's jars (with a log4j backend
/// writing <c>server.log</c> into the member's directory, peers.md) or Zooflow from the built CLI. Shared by
/// <see cref="TestServer"/> (standalone) and <see cref="TestEnsemble"/> (replicated).
/// </summary>
public static class ServerProcesses
{
    /// <summary>The zoo.cfg lines every test server gets (peers.md): no per-IP connection limit (every client is
    /// 127.0.0.1), every four-letter word, TTL nodes; Zooflow also gets the 1 s container reaper here (ZooKeeper takes it as
    /// a JVM property).</summary>
    public static StringBuilder AppendCommonConfig(StringBuilder cfg, ServerKind kind)
    {
        cfg.Append("maxClientCnxns=0\n")
            .Append("4lw.commands.whitelist=*\n")
            .Append("extendedTypesEnabled=true\n");
        if (kind == ServerKind.Zooflow)
        {
            cfg.Append("znode.container.checkIntervalMs=1000\n");
        }

        return cfg;
    }

    /// <summary>Starts <paramref name="kind"/> on <paramref name="cfgPath"/> with <paramref name="dir"/> as working
    /// directory (ZooKeeper's log goes to <c>dir/server.log</c>).</summary>
    /// <param name="kind">Which server.</param>
    /// <param name="dir">The member's own directory.</param>
    /// <param name="cfgPath">Its zoo.cfg.</param>
    /// <param name="zooKeeperJvmArgs">Extra JVM arguments for ZooKeeper (null: <c>-Xmx1000m</c>, the upstream
    /// default, as peers.md asks for comparisons).</param>
    public static ProcessRunner Start(ServerKind kind, string dir, string cfgPath, IReadOnlyList<string>? zooKeeperJvmArgs = null)
    {
        if (kind == ServerKind.Zooflow)
        {
            return ProcessRunner.Start("dotnet", [TestServer.ZooflowCli, "server", cfgPath], workingDirectory: dir);
        }

        File.WriteAllText(Path.Combine(dir, "log4j.properties"), string.Join('\n',
            "log4j.rootLogger=INFO, F",
            "log4j.appender.F=org.apache.log4j.FileAppender",
            "log4j.appender.F.File=" + Path.Combine(dir, "server.log"),
            "log4j.appender.F.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.F.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n",
            ""));
        var classpath = string.Join(':', dir, TestServer.ZooKeeperJar, TestServer.ZooKeeperJuteJar, "/usr/share/java/slf4j-log4j12.jar",
            "/usr/share/java/log4j-1.2.jar");
        List<string> args = [.. zooKeeperJvmArgs ?? ["-Xmx1000m"]];
        args.AddRange(
        [
            "-Dznode.container.checkIntervalMs=1000",
            "-Dzookeeper.snapshot.trust.empty=true",
            "-Dzookeeper.admin.enableServer=false",
            "-cp", classpath,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            cfgPath,
        ]);
        return ProcessRunner.Start("/usr/bin/java", args, workingDirectory: dir);
    }

    /// <summary>The last lines of the process output and of <c>dir/server.log</c>, for failure messages.</summary>
    public static string Describe(ProcessRunner process, string dir, int tailChars = 6000)
    {
        var text = new StringBuilder();
        text.Append("--- stdout ---\n").Append(Tail(process.StandardOutput, tailChars))
            .Append("--- stderr ---\n").Append(Tail(process.StandardError, tailChars));
        var log = Path.Combine(dir, "server.log");
        if (File.Exists(log))
        {
            try
            {
                text.Append("--- server.log ---\n").Append(Tail(File.ReadAllText(log), tailChars));
            }
            catch (IOException)
            {
            }
        }

        return text.ToString();
    }

    /// <summary>Parses the <c>Mode:</c> and <c>Zxid:</c> lines of a <c>srvr</c> reply.</summary>
    public static (string? Mode, long? Zxid) ParseSrvr(string reply)
    {
        string? mode = null;
        long? zxid = null;
        foreach (var line in reply.Split('\n'))
        {
            if (line.StartsWith("Mode:", StringComparison.Ordinal))
            {
                mode = line["Mode:".Length..].Trim();
            }
            else if (line.StartsWith("Zxid:", StringComparison.Ordinal))
            {
                var text = line["Zxid:".Length..].Trim();
                if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value))
                {
                    zxid = value;
                }
            }
        }

        return (mode, zxid);
    }

    private static string Tail(string s, int chars) => s.Length <= chars ? s : "...\n" + s[^chars..];
}
