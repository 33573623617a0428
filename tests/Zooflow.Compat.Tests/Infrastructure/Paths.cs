namespace Zooflow.Compat.Tests.Infrastructure;

/// <summary>Where the peers and our own binaries live on this machine.</summary>
public static class Paths
{
    public const string Java = "/usr/bin/java";
    public const string Javac = "/usr/bin/javac";

    /// <summary>Debian's python: a python3 earlier on PATH may be a separate build without kazoo.</summary>
    public const string Python = "/usr/bin/python3";
    public const string ZooKeeperJar = "/usr/share/java/zookeeper.jar";
    public const string ZooKeeperJuteJar = "/usr/share/java/zookeeper-jute.jar";
    public const string Slf4jLog4jJar = "/usr/share/java/slf4j-log4j12.jar";
    public const string Log4jJar = "/usr/share/java/log4j-1.2.jar";
    public const string Slf4jNopJar = "/usr/share/java/slf4j-nop.jar";
    public const string ZkCli = "/usr/share/zookeeper/bin/zkCli.sh";
    public const string CCli = "/usr/lib/zookeeper/bin/cli_mt";

    /// <summary>The folder holding the scripts copied next to the test assembly.</summary>
    public static string Assets => AppContext.BaseDirectory;

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zooflow.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Zooflow.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The CLI assembly; <c>ZOOFLOW_CLI</c> overrides the default Debug build output.</summary>
    public static string ZooflowCli =>
        Environment.GetEnvironmentVariable("ZOOFLOW_CLI") is { Length: > 0 } overridden
            ? overridden
            : Path.Combine(RepositoryRoot, "src", "Zooflow.Cli", "bin", "Debug", "net10.0", "zooflow.dll");
}
